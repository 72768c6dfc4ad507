package sampler

import (
	"fmt"
	"math"
	"time"
)

// Option configures [NewAdaptive]. Options take values and the last one
// wins. A value out of range is ignored, the default kept, and the problem
// reported through otel.Handle as an [*OptionError].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// RemoteParent says how the sampler treats a span whose parent came from
// another process.
type RemoteParent int

const (
	// FollowRemoteParent samples the span if and only if the remote parent
	// was sampled, keeping the trace whole across services. The default.
	FollowRemoteParent RemoteParent = iota
	// DecideRemoteParent ignores the remote parent's decision and decides
	// as for a root, by the trace's randomness and this sampler's
	// threshold, and writes the threshold to the tracestate. The
	// randomness is the rv the parent's tracestate carries, which the
	// specification forbids changing; when there is none, a fresh random
	// rv that it writes (the one change to trace randomness the
	// specification allows). Use it at an edge that receives traceparent
	// headers from clients it does not trust to sample: a client that
	// sends only a trace ID and a sampled flag decides nothing. A client
	// that also sends ot=rv:ffffffffffffff passes every threshold, as it
	// would at any conforming sampler: bound what clients can force with
	// WithMaxTracesPerSecond, or drop the tracestate of untrusted requests
	// before the span starts. It costs a new tracestate (an allocation) on
	// each such span without an rv, sampled or not.
	DecideRemoteParent
)

// Defaults.
const (
	DefaultBudget         = 100.0 // sampled spans per second
	DefaultFloor          = 1e-4  // lowest probability
	DefaultCeiling        = 1.0   // highest probability
	DefaultInterval       = time.Second
	DefaultErrorThreshold = 0.05 // error ratio above which the probability is boosted
	DefaultErrorBoost     = 4.0  // factor applied to the probability while errors are high
)

type config struct {
	budget         float64
	floor, ceiling float64
	interval       time.Duration
	errThreshold   float64
	errBoost       float64
	parentBased    bool
	remote         RemoteParent
	now            func() time.Time
	maxTraces      float64
	fairMin        float64 // sampled roots per second each name keeps; 0: off
	// ticks makes the adjusting goroutine's tick source; nil: no
	// goroutine (WithClock). tickDone, if not nil, hears after each tick.
	ticks    func(time.Duration) (<-chan time.Time, func())
	tickDone chan<- struct{}
	errs     []error
}

func newConfig(opts []Option) config {
	c := config{
		budget:       DefaultBudget,
		floor:        DefaultFloor,
		ceiling:      DefaultCeiling,
		interval:     DefaultInterval,
		errThreshold: DefaultErrorThreshold,
		errBoost:     DefaultErrorBoost,
		parentBased:  true,
		now:          time.Now,
		ticks:        realTicker,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.floor > c.ceiling {
		c.errs = append(c.errs, &OptionError{Option: "WithFloor/WithCeiling",
			Value: fmt.Sprintf("floor %g > ceiling %g", c.floor, c.ceiling), Reason: "floor reset to the ceiling"})
		c.floor = c.ceiling
	}
	return c
}

// OptionError reports an option value [NewAdaptive] could not use. The
// value was ignored or adjusted, as Reason says.
type OptionError struct {
	Option string // e.g. "WithBudget"
	Value  string // the value given
	Reason string // what is wrong, and what was done
}

// Error names the option, its value and what was done.
func (e *OptionError) Error() string {
	return fmt.Sprintf("sampler: %s(%s): %s", e.Option, e.Value, e.Reason)
}

func (c *config) reject(option string, value any, reason string) {
	c.errs = append(c.errs, &OptionError{Option: option, Value: fmt.Sprint(value), Reason: reason + "; default kept"})
}

func validProbability(p float64) bool { return p >= minProbability && p <= 1 }

func positive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// checked returns an option that sets the field to v when valid(v), and
// otherwise reports an OptionError saying want.
func checked(name string, v float64, valid func(float64) bool, want string, field func(*config) *float64) Option {
	return optionFunc(func(c *config) {
		if !valid(v) {
			c.reject(name, v, want)
			return
		}
		*field(c) = v
	})
}

// WithBudget sets the target number of sampled spans per second (default
// 100). The probability is adjusted every interval so that the spans
// sampled per second approach it, between the floor and the ceiling.
func WithBudget(spansPerSecond float64) Option {
	return checked("WithBudget", spansPerSecond, positive, "want a positive number of spans per second",
		func(c *config) *float64 { return &c.budget })
}

// WithFloor sets the lowest probability the sampler uses (default 1e-4),
// whatever the load. It must be in [2^-40, 1] (2^-40 is about 9e-13).
// Probabilities are rounded to the th encoding (4 significant hex digits,
// more near 0): when the floor and ceiling are closer together than one
// step of it, the probability in force is the nearest encoded value and
// may lie just outside them (floor = ceiling = 0.3 runs at 0.300003).
func WithFloor(p float64) Option {
	return checked("WithFloor", p, validProbability, "want a probability in [2^-40, 1]",
		func(c *config) *float64 { return &c.floor })
}

// WithCeiling sets the highest probability the sampler uses (default 1),
// even when errors boost it. It must be in [2^-40, 1].
func WithCeiling(p float64) Option {
	return checked("WithCeiling", p, validProbability, "want a probability in [2^-40, 1]",
		func(c *config) *float64 { return &c.ceiling })
}

// WithInterval sets how often the probability is adjusted (default 1s).
// Shorter follows load faster; longer averages more spans per decision.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < time.Millisecond {
			c.reject("WithInterval", d, "want at least 1ms")
			return
		}
		c.interval = d
	})
}

// WithErrorBoost raises the probability of root spans by factor while the
// ratio of local root spans ending in error is above threshold (defaults
// 4 and 0.05). The boost switches on when the ratio is reliably above the
// threshold: the lower bound of a 2-sigma confidence interval over about
// the last 20 intervals is above it, or a 3-sigma bound of one interval
// alone, for a sudden burst. It switches off when the upper bound of the
// window is below the threshold. A steady ratio near the threshold keeps
// the boost in one state; after a burst ends, the boost holds until the
// window shows the ratio below the threshold. The error ratio is seen by
// the sampler's SpanProcessor side: register the sampler with
// sdktrace.WithSpanProcessor too. A factor of 1 turns boosting off.
func WithErrorBoost(threshold, factor float64) Option {
	return optionFunc(func(c *config) {
		if !(threshold >= 0 && threshold < 1) {
			c.reject("WithErrorBoost", threshold, "want a threshold in [0, 1)")
			return
		}
		if !(factor >= 1) || math.IsInf(factor, 0) {
			c.reject("WithErrorBoost", factor, "want a factor of at least 1")
			return
		}
		c.errThreshold, c.errBoost = threshold, factor
	})
}

// WithParentBased sets whether spans with a parent follow the parent's
// decision (default true), which keeps traces whole. With false, every
// span is decided by its trace ID and the current probability: still
// consistent within a trace while the probability holds, but a change of
// probability can cut a trace.
func WithParentBased(on bool) Option {
	return optionFunc(func(c *config) { c.parentBased = on })
}

// WithRemoteParent sets how spans whose parent is in another process are
// decided (default [FollowRemoteParent]). It applies when parent-based.
func WithRemoteParent(r RemoteParent) Option {
	return optionFunc(func(c *config) {
		if r != FollowRemoteParent && r != DecideRemoteParent {
			c.reject("WithRemoteParent", int(r), "unknown policy")
			return
		}
		c.remote = r
	})
}

// WithMaxTracesPerSecond caps the traces this sampler starts per second
// (default: no cap). The probability is also held at or below 0.9 ×
// cap/roots-arriving-per-second, so the token bucket (burst: a tenth of a
// second's worth) only clips bursts between adjustments. It is consulted
// only when a root is about to be sampled, so it costs nothing on a drop.
// Traces it refuses are counted in [Stats].Capped; while it clips, the
// sampled traces' adjusted counts understate what they stand for.
func WithMaxTracesPerSecond(n float64) Option {
	return checked("WithMaxTracesPerSecond", n, positive, "want a positive rate",
		func(c *config) *float64 { return &c.maxTraces })
}

// WithFairness keeps up to minPerSecond sampled traces per second for
// every root span name that has the traffic for it (default: off), so a
// rare operation is not starved when a hot one dominates the budget. The
// budget still holds with any number of names: what the rare names take
// is taken from the others, and when the minimums of all names would not
// fit in the budget, the sampled roots are shared max-min fairly (each
// name gets the same number, or all its roots if it has fewer).
//
// Names are counted in two of 4096 buckets (FNV-1a), so memory is fixed
// (96 KiB) whatever the number of distinct names, and a name is decided
// by the quieter of its buckets: a rare name is not raised only when both
// share with hot names (about (hot names/4096)^2 of the time), and rare
// names that share a bucket share its minimum. Buckets count roots in
// the band, as the sampler counts arrivals, so a drop costs a hash of the
// name and two loads (19 ns against 19 without fairness, one goroutine;
// BenchmarkShouldSample, sampler=adaptive-fair).
func WithFairness(minPerSecond float64) Option {
	return checked("WithFairness", minPerSecond, positive, "want a positive number of traces per second",
		func(c *config) *float64 { return &c.fairMin })
}

// WithClock sets the clock the sampler reads to time its intervals
// (default time.Now), for tests that drive it deterministically. A fake
// clock cannot drive a timer, so with it the sampler starts no goroutine:
// it adjusts only on the spans it samples and on Rate and Stats, and a
// fall in load is followed only as fast as those calls come.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now, c.ticks = now, nil
		}
	})
}
