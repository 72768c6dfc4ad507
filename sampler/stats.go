package sampler

import (
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel"
)

// Rate returns the probability in force now. Without the adjusting
// goroutine (a fake clock from WithClock, or after Shutdown) it first
// adjusts if an interval has passed.
func (a *Adaptive) Rate() float64 {
	a.maybeAdjust()
	return a.decision().p
}

// Stats is a snapshot of an [Adaptive] sampler for health pages and tests.
// Every field is finite: no NaN or Inf reaches a JSON encoder.
type Stats struct {
	// Probability is the probability in force for root spans: the base
	// probability, boosted while errors are high, within the floor and
	// ceiling, as encoded in th (4 significant hex digits).
	Probability float64 `json:"probability"`
	// BaseProbability is what the budget alone asks for.
	BaseProbability float64 `json:"base_probability"`
	// SpansPerSecond estimates the spans arriving, sampled or not: roots
	// decided here and spans with a remote parent, times the spans per
	// sampled trace (smoothed).
	SpansPerSecond float64 `json:"spans_per_second"`
	// SampledPerSecond is the spans sampled per second in the last interval.
	SampledPerSecond float64 `json:"sampled_per_second"`
	// FollowedPerSecond is the spans per second sampled because their
	// remote parent was sampled upstream (smoothed), which the budget
	// counts one each.
	FollowedPerSecond float64 `json:"followed_per_second"`
	// ErrorRatio estimates the share of local root spans that end in
	// error: each interval's ratio weights sampled roots by their adjusted
	// counts; intervals are summed over a sliding window (decaying by 0.95
	// an interval) in proportion to the roots they sampled.
	ErrorRatio float64 `json:"error_ratio"`
	// Boosted is true while the error boost is on: it switches on when the
	// error ratio is reliably above the threshold, and off when reliably
	// below (see WithErrorBoost).
	Boosted bool `json:"boosted"`
	// Capped counts the traces WithMaxTracesPerSecond refused, in total.
	Capped int64 `json:"capped"`
	// Interval is the length of the last interval.
	Interval time.Duration `json:"interval"`
}

// finite replaces any NaN or infinity with 0, so that a Stats always
// encodes, and reports the replacement through otel.Handle as an
// [*EstimateError]. The estimates are built to stay finite; this is the
// last guard, and the report makes a breach visible to tests.
func (s Stats) finite() Stats {
	for _, f := range []*float64{&s.Probability, &s.BaseProbability, &s.SpansPerSecond, &s.SampledPerSecond, &s.FollowedPerSecond, &s.ErrorRatio} {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			otel.Handle(&EstimateError{Stats: s})
			*f = 0
		}
	}
	return s
}

// EstimateError reports an estimate that was not a finite number, which
// [Adaptive.Stats] replaced by 0. It is a bug in this package: please
// report it with the Stats it carries.
type EstimateError struct {
	Stats Stats // as computed, before the replacement
}

// Error says which Stats held a value that was not finite.
func (e *EstimateError) Error() string {
	return fmt.Sprintf("sampler: an estimate is not a finite number, replaced by 0: %+v", e.Stats)
}

// Stats returns the state as of the last adjustment. Without the
// adjusting goroutine it first adjusts if an interval has passed.
func (a *Adaptive) Stats() Stats {
	if a.cfg.now == nil {
		return Stats{Probability: 1, BaseProbability: 1}
	}
	a.maybeAdjust()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.stats
}
