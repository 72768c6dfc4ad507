package sampler

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
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

// overloadFactor triggers an early adjustment when the spans sampled since
// the last adjustment pass this multiple of what the budget allows for the
// time elapsed.
const overloadFactor = 2

// minOverloadSpans is the fewest spans that can show an overload: below
// it, chance alone would trigger early adjustments on short windows.
const minOverloadSpans = 32

// capMargin keeps the probability this far below the hard cap's rate, so
// that random bunching of sampled roots seldom empties the token bucket.
const capMargin = 0.9

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
// no allocation (~33 ns serial here, against TraceIDRatioBased's ~38). A
// sampled span costs two atomic adds and a clock read, plus a new
// tracestate when the parent context carries one.
//
// The budget counts every span this sampler samples, including spans that
// follow a remote parent; their decision was made upstream. When those
// alone exceed the budget, local roots go to the floor and the budget is
// not met.
//
// An Adaptive is safe for concurrent use by multiple goroutines and must
// not be copied after first use. It starts no goroutine: adjustments
// happen on the calls that sample spans and on Rate and Stats. The zero
// Adaptive samples every span and never adjusts; use NewAdaptive.
type Adaptive struct {
	cfg     config // immutable after NewAdaptive
	limiter *rate.Limiter
	desc    string
	epoch   time.Time // immutable; lastTick is measured from it (monotonic)
	maxW    uint64    // immutable; the largest weight one span may carry

	// state is the decision in force; replaced whole at each adjustment.
	state atomic.Pointer[decision]

	// With WithFairness: per root span name, its arrivals and its own
	// decision when fairness raises it above the global one.
	names     sync.Map // string -> *nameState
	nameCount atomic.Int64

	// Counters for the current interval, swapped to zero by adjust.
	sampled   atomic.Int64  // spans this sampler sampled (roots and children)
	weight    atomic.Uint64 // their adjusted counts, in weightOne units
	rootsIn   atomic.Uint64 // adjusted counts of roots decided here, sampled or capped
	rootsW    atomic.Uint64 // adjusted counts of local root spans that ended
	errorsW   atomic.Uint64 // ... of those that ended with an error status
	errorsN   atomic.Int64  // number of those that ended with an error status
	rootsN    atomic.Int64  // number of local root spans that ended
	capped    atomic.Int64  // total roots the hard cap refused
	cappedNow atomic.Int64  // roots the hard cap refused this interval
	lastTick  atomic.Int64  // nanoseconds from epoch to the last adjustment

	mu struct {
		sync.Mutex         // held by adjust; guards the fields below
		arrivals   float64 // smoothed estimate of spans arriving per second
		roots      float64 // ... of roots decided here arriving per second
		errRatio   float64 // smoothed estimate of the error ratio: errSum/rootSum
		errSum     float64 // decayed sum of error root weights
		rootSum    float64 // decayed sum of root weights
		stats      Stats   // as of the last adjustment
	}
}

// nameState is one root span name's share under WithFairness.
type nameState struct {
	arrivals atomic.Int64             // roots with this name this interval
	d        atomic.Pointer[decision] // nil: the global decision applies
}

// nameOf returns the state of a root span name, creating it while fewer
// than maxFairNames are tracked; nil when fairness is off or names are full.
func (a *Adaptive) nameOf(name string) *nameState {
	if v, ok := a.names.Load(name); ok {
		return v.(*nameState)
	}
	if a.nameCount.Load() >= maxFairNames {
		return nil
	}
	v, loaded := a.names.LoadOrStore(name, &nameState{})
	if !loaded {
		a.nameCount.Add(1)
	}
	return v.(*nameState)
}

// decision is the probability in force and everything the hot path needs
// to apply it. Immutable once published.
type decision struct {
	threshold
	p      float64          // the probability th encodes
	weight uint64           // adjusted count in weightOne units
	ot     string           // "th:…", the ot entry this decision writes
	ts     trace.TraceState // "ot=th:…", for roots with an empty tracestate
	boost  float64          // the error boost this decision includes (1: none)
	early  bool             // whether overload may trigger an early adjustment
}

// always is the decision of the zero Adaptive: keep everything.
var always = func() *decision {
	d := &decision{threshold: threshold{t: 0, th: "0", prec: 1}, p: 1, weight: weightOne, ot: "th:0", boost: 1}
	d.ts, _ = trace.TraceState{}.Insert(otKey, d.ot)
	return d
}()

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
	a := &Adaptive{cfg: cfg, epoch: cfg.now()}
	// No span may stand for more than the floor implies: a remote parent's
	// tracestate cannot inflate the estimates beyond what this sampler
	// could itself produce. With the floor at 2^-40 or above, the sums
	// cannot overflow in any realistic interval; adds saturate regardless.
	a.maxW = uint64(math.Round(weightOne / probabilityToThreshold(cfg.floor).probability()))
	if cfg.maxTraces > 0 {
		a.limiter = rate.NewLimiter(rate.Limit(cfg.maxTraces), max(1, int(math.Ceil(cfg.maxTraces/10))))
	}
	a.desc = fmt.Sprintf("Adaptive{budget:%g/s,floor:%g,ceiling:%g,interval:%v,errorThreshold:%g,errorBoost:%g,parentBased:%t}",
		cfg.budget, cfg.floor, cfg.ceiling, cfg.interval, cfg.errThreshold, cfg.errBoost, cfg.parentBased)
	a.publish(cfg.ceiling, 1)
	p := a.state.Load().p
	a.mu.stats = Stats{Probability: p, BaseProbability: p}
	return a
}

// weightOf returns the adjusted count of threshold t in weightOne units,
// at most a.maxW.
func (a *Adaptive) weightOf(t uint64) uint64 {
	return min(uint64(math.Round(adjustedCount(t)*weightOne)), a.maxW)
}

// addSat adds x to c, stopping at the largest uint64 instead of wrapping.
func addSat(c *atomic.Uint64, x uint64) {
	if v := c.Add(x); v < x { // wrapped
		c.Store(math.MaxUint64)
	}
}

// publish makes probability p (clamped to floor and ceiling) the decision
// in force, rounded to the threshold encoding. boost is the error boost in
// force, which raises the sampling rate that counts as overload.
func (a *Adaptive) publish(p, boost float64) {
	a.state.Store(a.makeDecision(p, boost))
}

// makeDecision builds the decision for probability p (clamped to floor and
// ceiling), rounded to the threshold encoding.
func (a *Adaptive) makeDecision(p, boost float64) *decision {
	p = min(max(p, a.cfg.floor), a.cfg.ceiling)
	th := probabilityToThreshold(p)
	// Rounding may step just outside the bounds: move one unit of the
	// last digit kept back inside, unless that crosses the other bound
	// (floor and ceiling closer than the encoding tells apart keep the
	// nearest encoding).
	unit := uint64(1) << (4 * (14 - th.prec))
	if th.probability() < a.cfg.floor && th.t >= unit {
		if n := encodeThreshold(th.t - unit); n.probability() <= a.cfg.ceiling {
			th = n
		}
	} else if th.probability() > a.cfg.ceiling && th.t+unit < maxThreshold {
		if n := encodeThreshold(th.t + unit); n.probability() >= a.cfg.floor {
			th = n
		}
	}
	d := &decision{threshold: th, p: th.probability(), ot: "th:" + th.th}
	d.weight = uint64(math.Round(adjustedCount(th.t) * weightOne))
	d.ts, _ = trace.TraceState{}.Insert(otKey, d.ot) // "th:<hex>" is always valid
	// Early adjustment can only help above the floor; while boosted the
	// sampler samples boost times the budget on purpose.
	d.early, d.boost = p > a.cfg.floor, boost
	return d
}

// decision returns the decision in force, or keep-all for the zero value.
func (a *Adaptive) decision() *decision {
	if d := a.state.Load(); d != nil {
		return d
	}
	return always
}

// Description implements sdktrace.Sampler.
func (a *Adaptive) Description() string {
	if a.desc == "" {
		return "Adaptive{zero}"
	}
	return a.desc
}

// ShouldSample implements sdktrace.Sampler.
func (a *Adaptive) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	psc := trace.SpanContextFromContext(p.ParentContext)
	if psc.IsValid() && a.cfg.parentBased {
		if !psc.IsRemote() || a.cfg.remote == FollowRemoteParent {
			return a.followParent(psc)
		}
		return a.decideAtEdge(psc)
	}
	d := a.decision()
	if a.cfg.fairMin > 0 && !psc.IsValid() {
		if ns := a.nameOf(p.Name); ns != nil {
			ns.arrivals.Add(1)
			if nd := ns.d.Load(); nd != nil {
				d = nd
			}
		}
	}
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
	return a.sample(d, ts, ot, !psc.IsValid())
}

// sample is the path of a span decided here (a root, or any span when not
// parent-based) whose randomness passed the threshold. Only a root (no
// parent) is subject to the hard cap, so a cap never cuts a trace.
func (a *Adaptive) sample(d *decision, ts trace.TraceState, ot otValue, isRoot bool) sdktrace.SamplingResult {
	if isRoot {
		addSat(&a.rootsIn, d.weight)
		if !a.allow(d) {
			return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
		}
	}
	a.count(d, d.weight)
	if ts.Len() == 0 {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: d.ts}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: insertOT(ts, ot, d.th)}
}

// allow asks the hard cap, if any, for a token. A refused root still
// counts as arrived, so the estimates stay true.
func (a *Adaptive) allow(d *decision) bool {
	if a.limiter == nil || a.limiter.AllowN(a.cfg.now(), 1) {
		return true
	}
	a.capped.Add(1)
	addSat(&a.weight, d.weight)
	a.cappedNow.Add(1)
	a.maybeAdjust()
	return false
}

// insertOT writes th into the ot entry of ts, keeping its other sub-keys.
// If the entry would be too long for the tracestate, it keeps th and rv
// alone: the specification requires rv to be passed on.
// An empty th removes the threshold.
func insertOT(ts trace.TraceState, ot otValue, th string) trace.TraceState {
	if v := ot.withThreshold(th); v == "" {
		return ts.Delete(otKey)
	} else if out, err := ts.Insert(otKey, v); err == nil {
		return out
	}
	var v string
	if th != "" {
		v = "th:" + th
	}
	if rv := ot.rvOnly(); rv != "" {
		v = strings.TrimPrefix(v+";"+rv, ";")
	}
	if v == "" {
		return ts.Delete(otKey)
	}
	out, err := ts.Insert(otKey, v)
	if err != nil {
		return ts.Delete(otKey)
	}
	return out
}

// decideAtEdge decides a span whose remote parent's decision is not
// trusted (DecideRemoteParent) as a root, with a fresh rv that it writes:
// the client chose the trace ID, not this. The cap applies as for a root.
func (a *Adaptive) decideAtEdge(psc trace.SpanContext) sdktrace.SamplingResult {
	d := a.decision()
	ts := psc.TraceState()
	ot := parseOT(ts.Get(otKey))
	r := rand.Uint64() & randomnessMask
	ot.raw, ot.rv, ot.hasRv = withRandomness(ot.raw, r), r, true
	addSat(&a.rootsIn, d.weight)
	if r < d.t || !a.allow(d) {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: insertOT(ts, ot, "")}
	}
	a.count(d, d.weight)
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: insertOT(ts, ot, d.th)}
}

// followParent samples a span if its parent was sampled, passing the
// parent's tracestate on. A parent threshold that the trace's randomness
// contradicts is erased, as the specification asks.
func (a *Adaptive) followParent(psc trace.SpanContext) sdktrace.SamplingResult {
	ts := psc.TraceState()
	if !psc.IsSampled() {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	d := a.decision()
	w := uint64(weightOne)
	if raw := ts.Get(otKey); raw != "" {
		if raw == d.ot && traceIDRandomness(psc.TraceID()) >= d.t {
			// The common case: a child of a root this sampler sampled at
			// the current threshold. No parsing.
			a.count(d, d.weight)
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
				w = a.weightOf(ot.th)
			}
		}
	}
	a.count(d, w)
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

// count records one sampled span of weight w under decision d, and adjusts
// if the interval is over or the budget is already badly overrun.
func (a *Adaptive) count(d *decision, w uint64) {
	a.sampled.Add(1)
	addSat(&a.weight, w)
	a.maybeAdjust()
}

// maybeAdjust adjusts when an adjustment is due.
func (a *Adaptive) maybeAdjust() {
	if a.cfg.now == nil {
		return // the zero Adaptive never adjusts
	}
	now := a.cfg.now()
	if !a.due(now) || !a.mu.TryLock() {
		return
	}
	defer a.mu.Unlock()
	// Check again under the lock: another goroutine may have adjusted
	// between the check and the lock.
	if a.due(now) {
		a.adjustLocked(now)
	}
}

// due reports whether an adjustment is due at now: the interval has
// passed, or (after at least a fiftieth of it, and minOverloadSpans spans)
// the sampled rate is over overloadFactor times the budget (times the
// boost in force), or the hard cap is refusing roots at half its rate.
func (a *Adaptive) due(now time.Time) bool {
	elapsed := now.Sub(a.epoch) - time.Duration(a.lastTick.Load())
	if elapsed >= a.cfg.interval {
		return true
	}
	if elapsed < a.cfg.interval/50 {
		return false
	}
	secs := elapsed.Seconds()
	if d := a.decision(); d.early {
		if n := float64(a.sampled.Load()); n >= minOverloadSpans && n >= overloadFactor*d.boost*a.cfg.budget*secs {
			return true
		}
	}
	if a.limiter != nil {
		if n := float64(a.cappedNow.Load()); n >= minOverloadSpans && n >= 0.5*a.cfg.maxTraces*secs {
			return true
		}
	}
	return false
}

// adjustLocked computes the next probability from the interval that just
// ended. a.mu is held.
func (a *Adaptive) adjustLocked(now time.Time) {
	tick := now.Sub(a.epoch)
	elapsed := tick - time.Duration(a.lastTick.Load())
	if elapsed <= 0 {
		return
	}
	a.lastTick.Store(int64(tick))
	secs := elapsed.Seconds()
	sampled := a.sampled.Swap(0)
	weight := float64(a.weight.Swap(0)) / weightOne
	rootsIn := float64(a.rootsIn.Swap(0)) / weightOne
	rootsW := float64(a.rootsW.Swap(0)) / weightOne
	errorsW := float64(a.errorsW.Swap(0)) / weightOne
	errorsN := a.errorsN.Swap(0)
	rootsN := a.rootsN.Swap(0)
	a.cappedNow.Store(0)
	cur := a.decision()

	// Spans (and roots) arriving per second, sampled or not: each sampled
	// span stands for its adjusted count (Horvitz-Thompson).
	a.mu.arrivals = smooth(a.mu.arrivals, weight/secs)
	a.mu.roots = smooth(a.mu.roots, rootsIn/secs)

	// The error ratio of local root spans, weighted the same way, and
	// smoothed. The boost follows the smoothed ratio, or this interval's
	// alone when it saw enough errors, so a burst boosts at once.
	//
	// Each interval's ratio (weighted within the interval, so unbiased
	// whatever p was) is averaged over a sliding window in proportion to
	// the roots it sampled, the inverse of its variance: a sparse interval
	// counts little. Older intervals decay by 0.8 per interval length.
	burst := false
	if rootsW > 0 {
		ratio := errorsW / rootsW
		decay := math.Pow(0.8, secs/a.cfg.interval.Seconds())
		a.mu.errSum = decay*a.mu.errSum + float64(rootsN)*ratio
		a.mu.rootSum = decay*a.mu.rootSum + float64(rootsN)
		a.mu.errRatio = a.mu.errSum / a.mu.rootSum
		burst = ratio > a.cfg.errThreshold && errorsN >= minErrorSpans
	}

	base := a.cfg.ceiling
	if a.mu.arrivals > 0 {
		base = a.cfg.budget / a.mu.arrivals
	}
	boost := 1.0
	if (a.mu.errRatio > a.cfg.errThreshold || burst) && a.cfg.errBoost > 1 {
		boost = a.cfg.errBoost
	}
	if a.cfg.fairMin > 0 {
		base = a.fairShares(base, secs, boost)
	}
	p := base * boost
	// With a hard cap, hold p a little below what the cap admits, so the
	// token bucket only clips bursts and adjusted counts stay true.
	if a.limiter != nil && a.mu.roots > 0 {
		p = min(p, capMargin*a.cfg.maxTraces/a.mu.roots)
	}
	p = min(p, cur.p*maxRise)
	a.publish(p, boost)
	next := a.decision()
	a.mu.stats = Stats{
		Probability:      next.p,
		BaseProbability:  min(max(base, a.cfg.floor), a.cfg.ceiling),
		SpansPerSecond:   a.mu.arrivals,
		SampledPerSecond: float64(sampled) / secs,
		ErrorRatio:       a.mu.errRatio,
		Boosted:          boost > 1,
		Capped:           a.capped.Load(),
		Interval:         elapsed,
	}
}

// fairShares gives each tracked root span name at least fairMin sampled
// roots per second, and returns the base probability for everything else,
// lowered so that the budget still holds (water-filling: names whose share
// at the base probability falls short are raised to fairMin; the rest of
// the budget is spread over the other spans). a.mu is held.
func (a *Adaptive) fairShares(base, secs, boost float64) float64 {
	type share struct {
		ns   *nameState
		rate float64 // roots per second
	}
	var shares []share
	var rootRate float64
	a.names.Range(func(_, v any) bool {
		ns := v.(*nameState)
		r := float64(ns.arrivals.Swap(0)) / secs
		shares = append(shares, share{ns, r})
		rootRate += r
		return true
	})
	if a.mu.arrivals <= 0 || rootRate <= 0 {
		return base
	}
	// Spans per root, to turn trace shares into spans of budget.
	k := max(a.mu.arrivals/max(a.mu.roots, rootRate), 1)
	raised := make([]bool, len(shares))
	for range 8 { // the binding set settles in a few passes
		var fixedSpans, fixedRate float64
		for i, s := range shares {
			raised[i] = s.rate > 0 && base*s.rate < a.cfg.fairMin
			if raised[i] {
				fixedSpans += k * min(a.cfg.fairMin, s.rate)
				fixedRate += k * s.rate
			}
		}
		next := a.cfg.floor
		if rest := a.mu.arrivals - fixedRate; rest > 0 && a.cfg.budget > fixedSpans {
			next = (a.cfg.budget - fixedSpans) / rest
		}
		next = min(max(next, a.cfg.floor), a.cfg.ceiling)
		if next == base {
			break
		}
		base = next
	}
	for i, s := range shares {
		if raised[i] && s.rate > 0 {
			s.ns.d.Store(a.makeDecision(a.cfg.fairMin/s.rate*boost, boost))
		} else {
			s.ns.d.Store(nil)
		}
	}
	return base
}

// smooth folds a new per-second estimate x into prev: a change by half or
// more is taken at once (a step in load), a smaller one is averaged in.
func smooth(prev, x float64) float64 {
	if prev == 0 || x > 1.5*prev || x < prev/1.5 {
		return x
	}
	return 0.5*prev + 0.5*x
}

// Rate returns the probability in force now, after adjusting if an
// interval has passed.
func (a *Adaptive) Rate() float64 {
	a.maybeAdjust()
	return a.decision().p
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
	// error: each interval's ratio weights sampled roots by their adjusted
	// counts; intervals are averaged over a sliding window (decaying by
	// 0.8 an interval) in proportion to the roots they sampled.
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
	if a.cfg.now == nil {
		return Stats{Probability: 1, BaseProbability: 1}
	}
	a.maybeAdjust()
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
	if !sc.IsSampled() || a.cfg.now == nil {
		return
	}
	w := uint64(weightOne)
	if raw := sc.TraceState().Get(otKey); raw != "" {
		if ot := parseOT(raw); ot.hasTh {
			w = a.weightOf(ot.th)
		}
	}
	addSat(&a.rootsW, w)
	a.rootsN.Add(1)
	if s.Status().Code == codes.Error {
		addSat(&a.errorsW, w)
		a.errorsN.Add(1)
	}
}

// Shutdown implements sdktrace.SpanProcessor. It does nothing: the sampler
// holds no resources and keeps working.
func (*Adaptive) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor. It does nothing.
func (*Adaptive) ForceFlush(context.Context) error { return nil }
