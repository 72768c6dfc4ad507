package sampler

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// weightOne is the fixed-point unit of span weights (adjusted counts):
// weights are summed in atomics as integers of 1/65536 span.
const weightOne = 1 << 16

// maxRise bounds how much the probability may rise in one adjustment, so
// that an interval with few or no samples (a lull, or bad luck at a low
// probability) cannot throw the probability to the ceiling at once. Falls
// are not bounded: overload is answered in one interval.
const maxRise = 4.0

// overloadFactor triggers an early adjustment when the spans sampled in the
// current interval pass this multiple of the interval's budget.
const overloadFactor = 2

// minErrorSpans is how many error spans one interval must see before its
// error ratio alone can switch the boost on.
const minErrorSpans = 5

// Adaptive is a head sampler that holds the sampled spans per second near a
// budget by adjusting its probability every interval, raises the
// probability while the error ratio is high, and decides consistently
// across services by OpenTelemetry's consistent probability sampling: a
// root is sampled when the trace's 56 bits of randomness (from the trace
// ID, or the rv value in tracestate) are at least the rejection threshold,
// and the threshold is written to the tracestate as ot=th:… so every
// participant and backend knows the probability each trace was sampled at.
//
// Install it in a TracerProvider, and register it as a span processor too
// so it sees which spans end in error:
//
//	a := sampler.NewAdaptive(sampler.WithBudget(200))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
//
// ShouldSample on a drop is one atomic load and a compare, with no lock and
// no allocation (~25 ns, about TraceIDRatioBased's cost). A sampled root
// costs a few atomic adds and, when the parent context carries a
// tracestate, a new tracestate.
//
// An Adaptive is safe for concurrent use by multiple goroutines. It starts
// no goroutine: adjustments happen on the calls that sample spans and on
// Rate and Stats. The zero Adaptive is not usable; use NewAdaptive.
type Adaptive struct {
	cfg     config // immutable after NewAdaptive
	limiter *rate.Limiter
	desc    string

	// state is the decision in force; replaced whole at each adjustment.
	state atomic.Pointer[decision]

	// Counters for the current interval, swapped to zero by adjust.
	sampled  atomic.Int64  // spans this sampler sampled (roots and children)
	weight   atomic.Uint64 // their adjusted counts, in weightOne units
	rootsW   atomic.Uint64 // adjusted counts of local root spans that ended
	errorsW  atomic.Uint64 // ... of those that ended with an error status
	errorsN  atomic.Int64  // number of those that ended with an error status
	capped   atomic.Int64  // total roots the hard cap refused
	lastTick atomic.Int64  // unix nanoseconds of the last adjustment

	mu struct {
		sync.Mutex           // held by adjust; guards the fields below
		arrivals     float64 // smoothed estimate of spans arriving per second
		errRatio     float64 // smoothed estimate of the error ratio
		errIntervals int     // intervals that fed errRatio
		stats        Stats   // as of the last adjustment
	}
}

// decision is the probability in force and everything the hot path needs
// to apply it. Immutable once published.
type decision struct {
	threshold
	p      float64          // the probability th encodes
	weight uint64           // adjusted count in weightOne units
	ot     string           // "th:…", the ot entry this decision writes
	ts     trace.TraceState // "ot=th:…", for roots with an empty tracestate
}

// weightOf returns the adjusted count of threshold t in weightOne units,
// capped so that sums cannot overflow.
func weightOf(t uint64) uint64 {
	return uint64(math.Round(min(adjustedCount(t), 1<<40) * weightOne))
}

var (
	_ sdktrace.Sampler       = (*Adaptive)(nil)
	_ sdktrace.SpanProcessor = (*Adaptive)(nil)
)

// NewAdaptive returns an adaptive sampler. It starts at the ceiling
// probability and settles on the budget within a few intervals of the
// first traffic. Invalid option values are reported through otel.Handle as
// [*OptionError] and replaced by defaults.
func NewAdaptive(opts ...Option) *Adaptive {
	cfg := newConfig(opts)
	for _, err := range cfg.errs {
		otel.Handle(err)
	}
	a := &Adaptive{cfg: cfg}
	if cfg.maxTraces > 0 {
		a.limiter = rate.NewLimiter(rate.Limit(cfg.maxTraces), max(1, int(math.Ceil(cfg.maxTraces/10))))
	}
	a.desc = fmt.Sprintf("Adaptive{budget:%g/s,floor:%g,ceiling:%g,interval:%v,errorThreshold:%g,errorBoost:%g,parentBased:%t}",
		cfg.budget, cfg.floor, cfg.ceiling, cfg.interval, cfg.errThreshold, cfg.errBoost, cfg.parentBased)
	a.publish(cfg.ceiling)
	a.lastTick.Store(cfg.now().UnixNano())
	a.mu.stats = Stats{Probability: a.state.Load().p, BaseProbability: a.state.Load().p}
	return a
}

// publish makes probability p (clamped to floor and ceiling) the decision
// in force, rounded to the threshold encoding.
func (a *Adaptive) publish(p float64) {
	p = min(max(p, a.cfg.floor), a.cfg.ceiling)
	th := probabilityToThreshold(p)
	// Rounding to 4 significant digits may step just outside the bounds:
	// move one unit of the last digit back inside, unless that crosses the
	// other bound (floor and ceiling closer than the encoding can tell
	// apart keep the nearest encoding).
	unit := uint64(1) << (4 * (14 - len(th.th)))
	if th.probability() < a.cfg.floor && th.t >= unit {
		if n := encodeThreshold(th.t - unit); n.probability() <= a.cfg.ceiling {
			th = n
		}
	} else if th.probability() > a.cfg.ceiling && th.t+unit < maxThreshold {
		if n := encodeThreshold(th.t + unit); n.probability() >= a.cfg.floor {
			th = n
		}
	}
	d := &decision{threshold: th, p: th.probability()}
	d.weight = weightOf(th.t)
	d.ot = "th:" + th.th
	d.ts, _ = trace.TraceState{}.Insert(otKey, d.ot) // "th:<hex>" is always valid
	a.state.Store(d)
}

// Description implements sdktrace.Sampler.
func (a *Adaptive) Description() string { return a.desc }

// ShouldSample implements sdktrace.Sampler.
func (a *Adaptive) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if psc.IsValid() && a.cfg.parentBased && (!psc.IsRemote() || a.cfg.remote == FollowRemoteParent) {
		return a.followParent(psc)
	}
	d := a.state.Load()
	ts := psc.TraceState()
	r := traceIDRandomness(p.TraceID)
	var ot otValue
	if ts.Len() > 0 {
		if raw := ts.Get(otKey); raw != "" {
			if ot = parseOT(raw); ot.hasRv {
				r = ot.rv
			}
		}
	}
	if r < d.t {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	return a.sampleRoot(d, ts, ot)
}

// sampleRoot is the path of a root (or independently decided) span whose
// randomness passed the threshold.
func (a *Adaptive) sampleRoot(d *decision, ts trace.TraceState, ot otValue) sdktrace.SamplingResult {
	if a.limiter != nil && !a.limiter.AllowN(a.cfg.now(), 1) {
		a.capped.Add(1)
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	a.count(d.weight)
	if ts.Len() == 0 {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: d.ts}
	}
	out, err := ts.Insert(otKey, ot.withThreshold(d.th))
	if err != nil {
		// The rest of the ot entry made it invalid: write th alone.
		out, _ = ts.Insert(otKey, "th:"+d.th)
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: out}
}

// followParent samples a span if its parent was sampled, passing the
// parent's tracestate on. A parent threshold that the trace's randomness
// contradicts is erased, as the specification asks.
func (a *Adaptive) followParent(psc trace.SpanContext) sdktrace.SamplingResult {
	ts := psc.TraceState()
	if !psc.IsSampled() {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	w := uint64(weightOne)
	if raw := ts.Get(otKey); raw != "" {
		if d := a.state.Load(); raw == d.ot && traceIDRandomness(psc.TraceID()) >= d.t {
			// The common case: a child of a root this sampler sampled at
			// the current threshold. No parsing.
			a.count(d.weight)
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
		}
		ot := parseOT(raw)
		if ot.hasTh {
			r := traceIDRandomness(psc.TraceID())
			if ot.hasRv {
				r = ot.rv
			}
			if r < ot.th { // inconsistent: the parent could not have sampled this
				if v := ot.withThreshold(""); v == "" {
					ts = ts.Delete(otKey)
				} else if out, err := ts.Insert(otKey, v); err == nil {
					ts = out
				}
			} else {
				w = weightOf(ot.th)
			}
		}
	}
	a.count(w)
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

// count records one sampled span of weight w, and adjusts if the interval
// is over or the budget is already badly overrun.
func (a *Adaptive) count(w uint64) {
	n := a.sampled.Add(1)
	a.weight.Add(w)
	a.maybeAdjust(n)
}

// maybeAdjust adjusts when the interval has passed, or early when n spans
// sampled this interval already exceed overloadFactor times its budget.
func (a *Adaptive) maybeAdjust(n int64) {
	now := a.cfg.now()
	elapsed := time.Duration(now.UnixNano() - a.lastTick.Load())
	overloaded := float64(n) > overloadFactor*a.cfg.budget*a.cfg.interval.Seconds() &&
		elapsed >= a.cfg.interval/10 && a.state.Load().p > a.cfg.floor // at the floor, adjusting early cannot help
	if elapsed < a.cfg.interval && !overloaded {
		return
	}
	if !a.mu.TryLock() {
		return // another goroutine is adjusting
	}
	defer a.mu.Unlock()
	a.adjustLocked(now)
}

// adjustLocked computes the next probability from the interval that just
// ended. a.mu is held.
func (a *Adaptive) adjustLocked(now time.Time) {
	last := a.lastTick.Load()
	elapsed := time.Duration(now.UnixNano() - last)
	if elapsed <= 0 {
		return
	}
	a.lastTick.Store(now.UnixNano())
	secs := elapsed.Seconds()
	sampled := a.sampled.Swap(0)
	weight := float64(a.weight.Swap(0)) / weightOne
	rootsW := float64(a.rootsW.Swap(0)) / weightOne
	errorsW := float64(a.errorsW.Swap(0)) / weightOne
	errorsN := a.errorsN.Swap(0)
	cur := a.state.Load()

	// Spans arriving per second, sampled or not: each sampled span stands
	// for its adjusted count (Horvitz-Thompson). Small changes are
	// smoothed; a change by half or more is taken at once.
	arrivals := weight / secs
	switch prev := a.mu.arrivals; {
	case prev == 0 || arrivals > 1.5*prev || arrivals < prev/1.5:
		a.mu.arrivals = arrivals
	default:
		a.mu.arrivals = 0.5*prev + 0.5*arrivals
	}

	// The error ratio of local root spans, weighted the same way, and
	// smoothed. The boost follows the smoothed ratio, or this interval's
	// alone when it saw enough errors, so a burst boosts at once.
	burst := false
	if rootsW > 0 {
		ratio := errorsW / rootsW
		// Each full interval weighs 0.2 (a shorter, early one less); the
		// first intervals are averaged plainly, so the first one's noise
		// does not linger.
		a.mu.errIntervals++
		alpha := max(1-math.Pow(0.8, min(secs/a.cfg.interval.Seconds(), 1)), 1/float64(a.mu.errIntervals))
		a.mu.errRatio = alpha*ratio + (1-alpha)*a.mu.errRatio
		burst = ratio > a.cfg.errThreshold && errorsN >= minErrorSpans
	}

	base := a.cfg.ceiling
	if a.mu.arrivals > 0 {
		base = a.cfg.budget / a.mu.arrivals
	}
	boosted := (a.mu.errRatio > a.cfg.errThreshold || burst) && a.cfg.errBoost > 1
	p := base
	if boosted {
		p *= a.cfg.errBoost
	}
	p = min(p, cur.p*maxRise)
	a.publish(p)
	next := a.state.Load()
	a.mu.stats = Stats{
		Probability:      next.p,
		BaseProbability:  min(max(base, a.cfg.floor), a.cfg.ceiling),
		SpansPerSecond:   a.mu.arrivals,
		SampledPerSecond: float64(sampled) / secs,
		ErrorRatio:       a.mu.errRatio,
		Boosted:          boosted,
		Capped:           a.capped.Load(),
		Interval:         elapsed,
	}
}

// Rate returns the probability in force now, after adjusting if an
// interval has passed.
func (a *Adaptive) Rate() float64 {
	a.maybeAdjust(0)
	return a.state.Load().p
}

// Stats is a snapshot of an [Adaptive] sampler for health pages and tests.
type Stats struct {
	// Probability is the probability in force: the base probability,
	// boosted while errors are high, within the floor and ceiling, as
	// encoded in th (4 significant hex digits).
	Probability float64 `json:"probability"`
	// BaseProbability is what the budget alone asks for.
	BaseProbability float64 `json:"base_probability"`
	// SpansPerSecond estimates the spans arriving, sampled or not, from
	// the sampled ones weighted by their adjusted counts (smoothed).
	SpansPerSecond float64 `json:"spans_per_second"`
	// SampledPerSecond is the spans sampled per second in the last interval.
	SampledPerSecond float64 `json:"sampled_per_second"`
	// ErrorRatio estimates the share of local root spans that end in
	// error, weighting each sampled root by its adjusted count, smoothed
	// over the last few intervals (each interval weighs 0.2).
	ErrorRatio float64 `json:"error_ratio"`
	// Boosted is true while ErrorRatio, or the last interval's ratio
	// alone when it saw at least 5 errors, is above the threshold.
	Boosted bool `json:"boosted"`
	// Capped counts the traces WithMaxTracesPerSecond refused, in total.
	Capped int64 `json:"capped"`
	// Interval is the length of the last interval.
	Interval time.Duration `json:"interval"`
}

// Stats returns the state as of the last adjustment, after adjusting if an
// interval has passed.
func (a *Adaptive) Stats() Stats {
	a.maybeAdjust(0)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.stats
}

// OnStart implements sdktrace.SpanProcessor. It does nothing.
func (*Adaptive) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it feeds the error ratio with
// local root spans (no parent, or a remote one), each weighted by the
// adjusted count its tracestate threshold gives.
func (a *Adaptive) OnEnd(s sdktrace.ReadOnlySpan) {
	if parent := s.Parent(); parent.IsValid() && !parent.IsRemote() {
		return
	}
	sc := s.SpanContext()
	if !sc.IsSampled() {
		return
	}
	w := uint64(weightOne)
	if raw := sc.TraceState().Get(otKey); raw != "" {
		if ot := parseOT(raw); ot.hasTh {
			w = weightOf(ot.th)
		}
	}
	a.rootsW.Add(w)
	if s.Status().Code == codes.Error {
		a.errorsW.Add(w)
		a.errorsN.Add(1)
	}
}

// Shutdown implements sdktrace.SpanProcessor. It does nothing: the sampler
// holds no resources and keeps working.
func (*Adaptive) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor. It does nothing.
func (*Adaptive) ForceFlush(context.Context) error { return nil }
