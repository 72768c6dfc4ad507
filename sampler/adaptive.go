package sampler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// weightOne is the fixed-point unit of span weights (adjusted counts):
// weights are summed in atomics as integers of 1/65536 span.
const weightOne = 1 << 16

// Adaptive is a head sampler that holds the sampled spans per second near a
// budget by adjusting its probability every interval, raises the
// probability while root spans are reliably failing more than a
// threshold, and decides consistently across services by OpenTelemetry's
// consistent probability sampling: a root is sampled when the trace's 56
// bits of randomness (from the trace ID, or the rv value in tracestate)
// are at least the rejection threshold, and the threshold is written to
// the tracestate as ot=th:… so every participant and backend knows the
// probability each trace was sampled at.
//
// Install it in a TracerProvider as its sampler, unwrapped, and register
// it as a span processor too, so it sees which spans end in error and is
// shut down with the provider:
//
//	a := sampler.NewAdaptive(sampler.WithBudget(200))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
//
// Without the span processor registration the error boost is off; wrapped
// in another sampler such as sdktrace.ParentBased, it does not see child
// spans and cannot count them against the budget. It detects both and
// reports each once through otel.Handle.
//
// # Cost
//
// ShouldSample on a drop is one atomic load and a compare, with no lock and
// no allocation (BenchmarkShouldSample: below TraceIDRatioBased in the
// same run). Roots whose randomness falls in a band just above the
// threshold (up to 8 times as many as are sampled) also add to an atomic
// counter, which is how the sampler counts arrivals without touching the
// drop path. A sampled span costs an atomic add or two and a clock read,
// plus a new tracestate when the parent context carries one.
//
// # The control loop
//
// From its first decision until Shutdown, an Adaptive runs one goroutine
// that wakes every interval (default 1s) and sets the probability from
// what the interval saw, so the probability follows a fall in load even
// when almost nothing is sampled and nobody calls Rate or Stats. A rise
// in load is met sooner: as soon as the spans sampled since the last
// adjustment pass twice what the budget allows, the span that shows it
// adjusts at once, so start-up and a step up stay within about twice the
// budget in every second. The goroutine holds the sampler only weakly: an
// Adaptive that is dropped without Shutdown stops it when garbage
// collected. Shutdown stops it at once; the sampler then keeps deciding,
// adjusting only on the spans it samples.
//
// # The budget
//
// The budget counts every span this sampler samples, in three parts:
//
//   - Roots decided here (and, with [DecideRemoteParent], spans whose
//     remote parent is decided here as a root) are sampled at the
//     probability. The sampler counts them arriving, sampled or not, from
//     the band above.
//   - Spans that follow a sampled remote parent were decided upstream.
//     They count one each against the budget, whatever the upstream's
//     adjusted count, and local roots get what they leave. An upstream
//     that samples a great deal, or sends an extreme th, cannot starve
//     local roots: they always keep at least their share of the budget in
//     proportion to their part of the arriving spans (local roots against
//     remote-parented spans, sampled upstream or not). If what upstreams
//     sample alone passes the budget, the budget is exceeded by that much;
//     use DecideRemoteParent at an edge that must hold it.
//   - Children of sampled spans follow their parent; the sampler measures
//     the spans per trace and budgets traces accordingly.
//
// An Adaptive is safe for concurrent use by multiple goroutines and must
// not be copied after first use. The zero Adaptive samples every span,
// never adjusts and starts no goroutine; use NewAdaptive.
type Adaptive struct {
	cfg     config // immutable after NewAdaptive
	limiter *rate.Limiter
	desc    string
	epoch   time.Time // immutable; lastTick is measured from it (monotonic)
	maxW    uint64    // immutable; the largest weight one span may carry
	// minOverload is the fewest sampled entries that show an overload;
	// immutable.
	minOverload float64

	// state is the decision in force; replaced whole at each adjustment.
	state atomic.Pointer[decision]

	fair *fairTable // nil unless WithFairness; immutable pointer

	// Counters for the current interval, swapped to zero by adjust.
	band       atomic.Uint64 // weights (1/band probability) of roots decided here that fell in the band
	bandN      atomic.Int64  // their number
	followBand atomic.Uint64 // weights of remote-parented spans (sampled upstream or not) in the band
	sampled    atomic.Int64  // spans this sampler sampled (roots and children)
	entries    atomic.Int64  // sampled roots decided here plus sampled spans following a remote parent
	followed   atomic.Int64  // sampled spans following a sampled remote parent
	rootsW     atomic.Uint64 // adjusted counts of local root spans that ended
	errorsW    atomic.Uint64 // ... of those that ended with an error status
	errorsN    atomic.Int64  // number of those that ended with an error status
	rootsN     atomic.Int64  // number of local root spans that ended
	capped     atomic.Int64  // total roots the hard cap refused
	cappedNow  atomic.Int64  // roots the hard cap refused this interval
	lastTick   atomic.Int64  // nanoseconds from epoch to the last adjustment

	loop loop // the adjusting goroutine
	seen seen // what the sampler has seen of how it is installed

	mu struct {
		sync.Mutex            // held by adjust; guards the fields below
		est        estimates  // smoothed estimates
		boost      boostState // the error boost and its evidence
		stats      Stats      // as of the last adjustment
		ticks      int64      // adjustments so far
	}
}

// decision is the probability in force and everything the hot path needs
// to apply it. Immutable once published.
type decision struct {
	threshold
	p     float64          // the probability th encodes
	estT  uint64           // band threshold: a root with randomness at or above it is counted
	estW  uint64           // the band's adjusted count in weightOne units
	ot    string           // "th:…", the ot entry this decision writes
	ts    trace.TraceState // "ot=th:…", for roots with an empty tracestate
	boost float64          // the error boost this decision includes (1: none)
	early float64          // sampled entries per second that count as overload; +Inf: never
	boot  bool             // the first decision: its first use starts the goroutine
}

// bandFactor is how many times the sampled probability the band counts
// roots at: eight times as many roots as are sampled tell the arrival
// rate with a third of the noise (about 3.5% at a budget of 100/s).
const bandFactor = 8

// always is the decision of the zero Adaptive: keep everything.
var always = func() *decision {
	d := &decision{threshold: threshold{t: 0, th: "0", prec: 1}, p: 1, estW: weightOne, ot: "th:0", boost: 1}
	d.ts, _ = trace.TraceState{}.Insert(otKey, d.ot)
	return d
}()

var (
	_ sdktrace.Sampler       = (*Adaptive)(nil)
	_ sdktrace.SpanProcessor = (*Adaptive)(nil)
)

// NewAdaptive returns an adaptive sampler. It starts at the ceiling
// probability, cuts it as soon as the first traffic shows an overload, and
// settles on the budget within a few intervals. Invalid option values are
// reported through otel.Handle as [*OptionError] and replaced by defaults.
func NewAdaptive(opts ...Option) *Adaptive {
	cfg := newConfig(opts)
	for _, err := range cfg.errs {
		otel.Handle(err)
	}
	a := &Adaptive{cfg: cfg, epoch: cfg.now()}
	a.minOverload = max(8, min(minOverloadSpans, cfg.budget*cfg.interval.Seconds()/8))
	// No span may stand for more than the floor implies: a remote parent's
	// tracestate cannot inflate the error estimate beyond what this sampler
	// could itself produce. With the floor at 2^-40 or above, the sums
	// cannot overflow in any realistic interval; adds saturate regardless.
	a.maxW = uint64(math.Round(weightOne / probabilityToThreshold(cfg.floor).probability()))
	if cfg.maxTraces > 0 {
		a.limiter = rate.NewLimiter(rate.Limit(cfg.maxTraces), max(1, int(math.Ceil(cfg.maxTraces/10))))
	}
	if cfg.fairMin > 0 {
		a.fair = newFairTable()
	}
	a.desc = fmt.Sprintf("Adaptive{budget:%g/s,floor:%g,ceiling:%g,interval:%v,errorThreshold:%g,errorBoost:%g,parentBased:%t}",
		cfg.budget, cfg.floor, cfg.ceiling, cfg.interval, cfg.errThreshold, cfg.errBoost, cfg.parentBased)
	d := a.makeDecision(cfg.ceiling, 1, 0)
	d.early = 0 // until the first adjustment, any minOverload sampled entries show an overload
	if d.p <= cfg.floor {
		d.early = math.Inf(1) // pinned: nothing to adjust
	}
	d.boot = cfg.ticks != nil && cfg.floor < cfg.ceiling // pinned: nothing to adjust, no goroutine
	a.state.Store(d)
	a.mu.est.perTrace = 1
	a.mu.stats = Stats{Probability: d.p, BaseProbability: d.p}
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

// makeDecision builds the decision for probability p (clamped to floor and
// ceiling), rounded to the threshold encoding. boost is the error boost it
// includes; early the sampled entries per second that show an overload.
func (a *Adaptive) makeDecision(p, boost, early float64) *decision {
	th := a.encode(p)
	d := &decision{threshold: th, p: th.probability(), ot: "th:" + th.th, boost: boost, early: early}
	band := probabilityToThreshold(min(1, bandFactor*d.p))
	d.estT, d.estW = band.t, uint64(math.Round(adjustedCount(band.t)*weightOne))
	d.ts, _ = trace.TraceState{}.Insert(otKey, d.ot) // "th:<hex>" is always valid
	return d
}

// encode clamps p to the floor and ceiling and rounds it to the threshold
// encoding.
func (a *Adaptive) encode(p float64) threshold {
	if math.IsNaN(p) {
		p = a.cfg.ceiling
	}
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
	return th
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
	d := a.decision()
	if d.boot {
		a.start()
	}
	if psc.IsValid() {
		a.seen.parented()
		if a.cfg.parentBased {
			if !psc.IsRemote() || a.cfg.remote == FollowRemoteParent {
				return a.followParent(psc, d)
			}
			return a.decideAtEdge(psc, d)
		}
		return a.decideWithParent(psc, d)
	}
	var b1, b2 *fairBucket
	if a.fair != nil {
		d, b1, b2 = a.fair.decide(p.Name, d)
	}
	r := traceIDRandomness(p.TraceID)
	if r < d.estT {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	if b1 != nil {
		countFair(d, b1, b2)
	}
	a.countBand(d)
	if r < d.t {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	return a.sample(d, trace.TraceState{}, otValue{}, true)
}

// countBand counts a root decided here whose randomness fell in the band.
func (a *Adaptive) countBand(d *decision) {
	addSat(&a.band, d.estW)
	a.bandN.Add(1)
}

// decideWithParent decides a span that has a parent, without following
// it (WithParentBased(false)): by the trace's randomness, the rv in the
// tracestate when there is one, and the current threshold. A drop erases
// the parent's th, which no longer describes this span.
func (a *Adaptive) decideWithParent(psc trace.SpanContext, d *decision) sdktrace.SamplingResult {
	ts := psc.TraceState()
	r := traceIDRandomness(psc.TraceID())
	var ot otValue
	if ts.Len() > 0 {
		if raw := ts.Get(otKey); raw != "" {
			if ot = parseOT(raw); ot.hasRv {
				r = ot.rv
			}
		}
	}
	if !ot.hasRv && psc.IsRemote() && !psc.TraceFlags().IsRandom() {
		a.seen.assumedRandomness()
	}
	if r >= d.estT {
		a.countBand(d)
	}
	if r < d.t {
		if ot.hasTh || ot.badTh {
			ts = insertOT(ts, ot, "")
		}
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	return a.sample(d, ts, ot, false)
}

// sample is the path of a span decided here whose randomness passed the
// threshold. Only a root (no parent) is subject to the hard cap, so a cap
// never cuts a trace.
func (a *Adaptive) sample(d *decision, ts trace.TraceState, ot otValue, isRoot bool) sdktrace.SamplingResult {
	if isRoot && !a.allow() {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	a.entries.Add(1)
	a.count()
	if ts.Len() == 0 {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: d.ts}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: insertOT(ts, ot, d.th)}
}

// allow asks the hard cap, if any, for a token. A refused root was
// counted arriving in the band like any other, so the estimates stay
// true.
func (a *Adaptive) allow() bool {
	if a.limiter == nil || a.limiter.AllowN(a.cfg.now(), 1) {
		return true
	}
	a.capped.Add(1)
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
// trusted (DecideRemoteParent) as a root. Its randomness is the rv the
// tracestate carries, which the specification forbids changing; when
// there is none, a fresh random rv, written to the tracestate: the client
// chose the trace ID, not this. The cap applies as for a root.
func (a *Adaptive) decideAtEdge(psc trace.SpanContext, d *decision) sdktrace.SamplingResult {
	ts := psc.TraceState()
	ot := parseOT(ts.Get(otKey))
	if !ot.hasRv {
		r := rand.Uint64() & randomnessMask
		ot.raw, ot.rv, ot.hasRv = withRandomness(ot.raw, r), r, true
	}
	if ot.rv >= d.estT {
		a.countBand(d)
	}
	if ot.rv < d.t || !a.allow() {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: insertOT(ts, ot, "")}
	}
	a.entries.Add(1)
	a.count()
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: insertOT(ts, ot, d.th)}
}

// followParent samples a span if its parent was sampled, passing the
// parent's tracestate on. A parent threshold that the trace's randomness
// contradicts, or that does not parse, is erased, as the specification
// asks. Remote parents are counted in the band whether sampled or not, so
// local roots keep their share of the budget.
func (a *Adaptive) followParent(psc trace.SpanContext, d *decision) sdktrace.SamplingResult {
	ts := psc.TraceState()
	r := traceIDRandomness(psc.TraceID())
	var ot otValue // parsed unless raw is this sampler's own current entry
	var raw string
	if ts.Len() > 0 {
		raw = ts.Get(otKey)
	}
	if raw != "" && raw != d.ot {
		if ot = parseOT(raw); ot.badTh { // erased whatever the decision, as the specification asks
			ts = insertOT(ts, ot, "")
			ot = parseOT(ts.Get(otKey))
		}
		if ot.hasRv {
			r = ot.rv
		}
	}
	if psc.IsRemote() && r >= d.estT {
		addSat(&a.followBand, d.estW)
	}
	if !psc.IsSampled() {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	if psc.IsRemote() {
		a.followed.Add(1)
		a.entries.Add(1)
	}
	if ot.hasTh && r < ot.th { // the parent could not have sampled this
		ts = insertOT(ts, ot, "")
	} else if raw == d.ot && r < d.t {
		ts = insertOT(ts, parseOT(raw), "")
	}
	a.count()
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

// count records one sampled span, and adjusts if the budget is already
// badly overrun (or, without the goroutine, if the interval is over).
func (a *Adaptive) count() {
	a.sampled.Add(1)
	a.maybeAdjust()
}
