package sampler_test

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

var (
	simSeed      = flag.Uint64("sim.seed", 1, "seed of the sampler simulations: arrivals, trace IDs, errors")
	simIntervals = flag.Bool("sim.intervals", false, "log every simulated interval of every shape, not only of those that fail")
)

// fakeClock is the clock of the unit tests that use sampler.WithClock
// (adaptive_test.go, adaptive_more_test.go). The simulations below use
// simClock and sampler.WithTicks instead.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// The simulations drive an Adaptive only as production does (STYLE.md
// §10): through an sdktrace.TracerProvider that has it as its sampler and
// as a span processor, with tracer.Start and span.End. Nothing polls it:
// the harness never calls Rate or Stats while traffic runs (only Stats,
// once, after it, as a health page would), and it learns the probability
// the sampler chose from what production sees, the ot=th value in the
// tracestate of each sampled root.
//
// Time is a fake clock. The sampler is built with sampler.WithTicks: when
// the clock passes an interval boundary, the harness sends the boundary on
// the tick channel and waits until the sampler's goroutine has handled it,
// which is what its timer does in production. Ticks start with the first
// span, as the production timer is created by the first decision.
//
// Traces arrive as Poisson processes (one per stream) whose rates follow
// a shape, from a seeded generator, and trace and span IDs come from a
// seeded IDGenerator: a run is the same for the same -sim.seed (except
// with WithFairness, whose name hash the sampler seeds itself). A trace is
// a root (or a server span under a remote parent) and its children,
// started under the root's context, all starting and ending at the
// arrival's instant (trace.WithTimestamp). A counting SpanProcessor
// records, per simulated second, the sampled spans that ended.

// simEpoch is the fake clock's zero.
var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simHang turns a sampler goroutine that stops taking ticks into a failure.
const simHang = 10 * time.Second

// simClock is the fake clock, read by the sampler on the simulation's
// goroutine and on its own.
type simClock struct{ ns atomic.Int64 } // since simEpoch

func (c *simClock) now() time.Time { return simEpoch.Add(time.Duration(c.ns.Load())) }

// simIDs is a seeded sdktrace.IDGenerator.
type simIDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (g *simIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], g.rng.Uint64())
		binary.BigEndian.PutUint64(tid[8:], g.rng.Uint64())
	}
	return tid, g.spanIDLocked()
}

func (g *simIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.spanIDLocked()
}

func (g *simIDs) spanIDLocked() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], g.rng.Uint64())
	}
	return sid
}

// simSeen is what the counting processor saw end in one simulated second.
type simSeen struct {
	sampled  int            // spans that ended sampled
	roots    int            // of which local roots
	followed int            // of which spans with a remote parent
	errors   int            // sampled local roots with an error status
	names    map[string]int // sampled local roots per name
	// p is the probability carried (ot=th) by the last sampled local root
	// of the second, leaving out names the shape marks rare (fairness
	// raises them): the decision in force at the second's end. 0: none.
	p          float64
	pMin, pMax float64
}

// simCounter is the counting SpanProcessor.
type simCounter struct {
	rare map[string]bool // immutable

	mu   sync.Mutex
	secs []simSeen
	bad  []string // sampled local roots whose tracestate carries no valid th
}

func newSimCounter(seconds int, rare map[string]bool) *simCounter {
	c := &simCounter{rare: rare, secs: make([]simSeen, seconds)}
	for i := range c.secs {
		c.secs[i].names = map[string]int{}
	}
	return c
}

func (*simCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (*simCounter) Shutdown(context.Context) error                  { return nil }
func (*simCounter) ForceFlush(context.Context) error                { return nil }

func (c *simCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := int(s.EndTime().Sub(simEpoch) / time.Second)
	if i < 0 || i >= len(c.secs) {
		c.bad = append(c.bad, fmt.Sprintf("span %q ended at %v, outside the run", s.Name(), s.EndTime().Sub(simEpoch)))
		return
	}
	sec := &c.secs[i]
	sec.sampled++
	switch parent := s.Parent(); {
	case parent.IsRemote():
		sec.followed++
	case parent.IsValid(): // a local child
	default:
		sec.roots++
		sec.names[s.Name()]++
		if s.Status().Code == codes.Error {
			sec.errors++
		}
		p, ok := carriedProbability(s.SpanContext().TraceState())
		if !ok {
			c.bad = append(c.bad, fmt.Sprintf("sampled root at %v: tracestate %q carries no valid th", s.EndTime().Sub(simEpoch), s.SpanContext().TraceState()))
			return
		}
		if c.rare[s.Name()] {
			return
		}
		if sec.p == 0 {
			sec.pMin, sec.pMax = p, p
		}
		sec.p, sec.pMin, sec.pMax = p, min(sec.pMin, p), max(sec.pMax, p)
	}
}

// carriedProbability parses the probability from the ot=th:… entry of a
// tracestate, as a backend would.
func carriedProbability(ts trace.TraceState) (float64, bool) {
	for _, kv := range strings.Split(ts.Get("ot"), ";") {
		th, ok := strings.CutPrefix(kv, "th:")
		if !ok {
			continue
		}
		if len(th) == 0 || len(th) > 14 {
			return 0, false
		}
		v, err := strconv.ParseUint(th, 16, 64)
		if err != nil {
			return 0, false
		}
		t := v << (4 * (14 - len(th)))
		return float64(1<<56-t) / (1 << 56), true
	}
	return 0, false
}

// simUpstream is the service a remote parent came from: it sampled at p,
// and says so with ot=th. A hostile one writes th:ffffffffffffff (p =
// 2^-56) and sets the sampled flag on every trace.
type simUpstream struct {
	p       float64
	hostile bool
}

// threshold returns the rejection threshold and th value of the upstream.
func (u simUpstream) threshold() (uint64, string) {
	if u.hostile {
		return 1<<56 - 1, "ffffffffffffff"
	}
	t := uint64(math.Round((1 - u.p) * (1 << 56)))
	if t == 0 {
		return 0, "0"
	}
	return t, strings.TrimRight(fmt.Sprintf("%014x", t), "0")
}

// sampledShare is the share of its traces the upstream samples.
func (u simUpstream) sampledShare() float64 {
	if u.hostile {
		return 1
	}
	return u.p
}

// simStream is one Poisson stream of traces.
type simStream struct {
	rate    func(t float64) float64 // traces per second at t seconds
	names   []string                // names of successive traces, in turn; nil: "GET /orders"
	errRate func(t float64) float64 // share of traces whose root ends in error; nil: none
	remote  *simUpstream            // the traces continue a remote parent; nil: local roots
	rare    bool                    // a rare name: fairness raises it (left out of the carried p)
	phase   float64                 // the first trace arrives at this many seconds
}

func (st *simStream) name(n int) string {
	if len(st.names) == 0 {
		return "GET /orders"
	}
	return st.names[n%len(st.names)]
}

// simShape is a simulated workload and what the sampler should do with it.
type simShape struct {
	id, label string
	seconds   int
	budget    float64
	spans     int // spans per trace, all streams: a root and spans-1 children
	streams   []simStream
	steps     []float64 // seconds from which convergence is measured: 0 (start-up) and each step
	steady    [2]int    // intervals [from, to) over which the budget is judged
	fairMin   float64   // WithFairness; 0: off
	opts      []sampler.Option
	pinned    bool // floor = ceiling: the sampler starts no goroutine, so there is nothing to tick

	// What to check (TestSimulationTable).
	maxConverge   int  // every step converges within this many intervals; 0: not checked
	holdsBudget   bool // the steady part's mean sampled is within ±10% of what the budget asks
	overBudget    bool // upstreams alone exceed the budget: local roots keep their share instead
	errorRate     float64
	boostExpected bool // errors steadily above the threshold: the boost goes on and stays on
	diurnal       bool // report the share of intervals within ±10% instead of convergence
}

// ideal is the base probability (no error boost) that the budget asks for
// local roots with the load at t seconds, by the documented rule: spans
// following a sampled remote parent count one each, and local roots get
// what they leave, but at least their share of the budget in proportion to
// their part of the arrivals (or half of it); with fairness, rare names
// are raised to the minimum first. NaN: no local roots arrive.
func (sh *simShape) ideal(t float64) float64 {
	var local, remote, followed, rare float64
	for i := range sh.streams {
		st := &sh.streams[i]
		r := st.rate(t)
		switch {
		case st.remote != nil:
			remote += r
			followed += r * st.remote.sampledShare()
		case st.rare && sh.fairMin > 0:
			rare += min(r, sh.fairMin)
		default:
			local += r
		}
	}
	if !(local > 0) {
		return math.NaN()
	}
	entries := sh.budget / float64(sh.spans) // traces per second
	p := (entries - followed - rare) / local
	share := entries * min(0.5, local/(local+remote)) / local
	return min(1, max(p, share))
}

// expectedSampled is the sampled spans per second the ideal probability
// gives at t seconds (boost: the error boost's factor, or 1).
func (sh *simShape) expectedSampled(t, boost float64) float64 {
	p := min(1, boost*sh.ideal(t))
	var n float64
	for i := range sh.streams {
		st := &sh.streams[i]
		switch r := st.rate(t); {
		case st.remote != nil:
			n += r * st.remote.sampledShare()
		case st.rare && sh.fairMin > 0:
			n += min(r, sh.fairMin)
		case !math.IsNaN(p):
			n += r * p
		}
	}
	return n * float64(sh.spans)
}

// simTruth is what arrived in one simulated second, as the harness knows it.
type simTruth struct {
	roots         int            // local roots
	remote        int            // spans with a remote parent
	remoteSampled int            // of which sampled upstream
	errors        int            // local roots that ended in error
	rare          map[string]int // roots per rare name
}

// simRun is one simulation's record.
type simRun struct {
	sh    *simShape
	truth []simTruth
	seen  []simSeen
	ideal []float64     // sh.ideal at each interval's end
	bad   []string      // harness integrity problems
	stats sampler.Stats // read once, after the run
}

// simulate runs sh and returns its record. It shuts the TracerProvider
// down, which stops the sampler's goroutine.
func simulate(t testing.TB, sh *simShape) *simRun {
	t.Helper()
	clk := &simClock{}
	ticks := make(chan time.Time)
	done := make(chan struct{})
	opts := []sampler.Option{sampler.WithBudget(sh.budget), sampler.WithInterval(time.Second), sampler.WithTicks(clk.now, ticks, done)}
	if sh.fairMin > 0 {
		opts = append(opts, sampler.WithFairness(sh.fairMin))
	}
	a := sampler.NewAdaptive(append(opts, sh.opts...)...)
	rare := map[string]bool{}
	for _, st := range sh.streams {
		if st.rare {
			for _, n := range st.names {
				rare[n] = true
			}
		}
	}
	counter := newSimCounter(sh.seconds, rare)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(a),
		sdktrace.WithSpanProcessor(a),
		sdktrace.WithSpanProcessor(counter),
		sdktrace.WithIDGenerator(&simIDs{rng: rand.New(rand.NewPCG(*simSeed, 1))}),
	)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), simHang)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			t.Errorf("TracerProvider.Shutdown: %v", err)
		}
	}()
	tr := tp.Tracer("github.com/otlpgo/otlpgo/sampler/simulation")
	rng := rand.New(rand.NewPCG(*simSeed, 2))

	// The parents of each upstream: a constant tracestate.
	states := make([]trace.TraceState, len(sh.streams))
	thresholds := make([]uint64, len(sh.streams))
	for i, st := range sh.streams {
		if st.remote != nil {
			var th string
			thresholds[i], th = st.remote.threshold()
			var err error
			if states[i], err = (trace.TraceState{}).Insert("ot", "th:"+th); err != nil {
				t.Fatal(err)
			}
		}
	}

	run := &simRun{sh: sh, truth: make([]simTruth, sh.seconds), ideal: make([]float64, sh.seconds)}
	for i := range run.ideal {
		run.ideal[i] = sh.ideal(float64(i+1) - 1e-9)
	}
	end := time.Duration(sh.seconds) * time.Second
	next := make([]time.Duration, len(sh.streams))
	n := make([]int, len(sh.streams))
	for i, st := range sh.streams {
		next[i] = time.Duration(st.phase * float64(time.Second))
	}
	nextTick, ticking := time.Second, false
	tick := func() {
		clk.ns.Store(int64(nextTick))
		select {
		case ticks <- simEpoch.Add(nextTick):
		case <-time.After(simHang):
			t.Fatalf("the sampler's goroutine took no tick at %v", nextTick)
		}
		select {
		case <-done:
		case <-time.After(simHang):
			t.Fatalf("the sampler's goroutine did not finish the tick at %v", nextTick)
		}
		nextTick += time.Second
	}
	for {
		j := 0
		for i := range next {
			if next[i] < next[j] {
				j = i
			}
		}
		now := next[j]
		if now >= end {
			break
		}
		for ticking && nextTick <= now {
			tick()
		}
		st := &sh.streams[j]
		r := st.rate(now.Seconds())
		if !(r > 0) {
			next[j] = now + 10*time.Millisecond // silence: look again
			continue
		}
		next[j] = now + time.Duration(rng.ExpFloat64()/r*float64(time.Second))
		clk.ns.Store(int64(now))
		truth := &run.truth[int(now/time.Second)]
		at := trace.WithTimestamp(simEpoch.Add(now))
		ctx := context.Background()
		if st.remote != nil {
			var tid trace.TraceID
			binary.BigEndian.PutUint64(tid[:8], rng.Uint64())
			binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
			flags := trace.FlagsRandom
			if st.remote.hostile || binary.BigEndian.Uint64(tid[8:])&(1<<56-1) >= thresholds[j] {
				flags |= trace.FlagsSampled
				truth.remoteSampled++
			}
			truth.remote++
			sid := trace.SpanID{}
			binary.BigEndian.PutUint64(sid[:], rng.Uint64()|1)
			ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: flags, TraceState: states[j], Remote: true,
			}))
		} else {
			truth.roots++
			if st.rare {
				if truth.rare == nil {
					truth.rare = map[string]int{}
				}
				truth.rare[st.name(n[j])]++
			}
		}
		failed := st.errRate != nil && rng.Float64() < st.errRate(now.Seconds())
		ctx, root := tr.Start(ctx, st.name(n[j]), at, trace.WithSpanKind(trace.SpanKindServer))
		n[j]++
		ticking = !sh.pinned // the first decision started the sampler's goroutine
		for range sh.spans - 1 {
			_, child := tr.Start(ctx, "SELECT orders", at, trace.WithSpanKind(trace.SpanKindClient))
			child.End(at)
		}
		if failed {
			root.SetStatus(codes.Error, "simulated failure")
			if st.remote == nil {
				truth.errors++
			}
		}
		root.End(at)
	}
	for ticking && nextTick < end {
		tick()
	}
	run.stats = a.Stats() // once, after the run, as a health page would
	counter.mu.Lock()
	run.seen, run.bad = counter.secs, counter.bad
	counter.mu.Unlock()
	return run
}

// within reports whether the probability carried at the end of interval i
// is within tol of the ideal times boost.
func (r *simRun) within(i int, boost, tol float64) bool {
	id := boost * r.ideal[i]
	return !math.IsNaN(id) && r.seen[i].p > 0 && math.Abs(r.seen[i].p/min(1, id)-1) <= tol
}

// converged returns the intervals from the one holding step (seconds) to
// the first whose carried probability is within ±10% of the ideal and
// stays so for the following 3, and the sampled spans/budget over those 4;
// -1 if none before the next step (or the end).
func (r *simRun) converged(step float64) (int, float64) {
	s0, end := int(step), len(r.seen)
	for _, st := range r.sh.steps {
		if st > step {
			end = min(end, int(st))
		}
	}
	for i := s0; i+3 < end; i++ {
		ok := true
		for k := i; k <= i+3 && ok; k++ {
			ok = r.within(k, 1, 0.10)
		}
		if ok {
			var n int
			for k := i; k <= i+3; k++ {
				n += r.seen[k].sampled
			}
			return i - s0, float64(n) / 4 / r.sh.budget
		}
	}
	return -1, 0
}

// worst returns the largest sampled spans in one second over the budget,
// and its second. Nothing is left out: start-up and steps count.
func (r *simRun) worst() (float64, int) {
	w, at := 0.0, 0
	for i, s := range r.seen {
		if v := float64(s.sampled) / r.sh.budget; v > w {
			w, at = v, i
		}
	}
	return w, at
}

// steadyMean returns the mean sampled spans per second over the budget in
// the steady part, and what the ideal probability gives (boost: the error
// boost's factor, or 1).
func (r *simRun) steadyMean(boost float64) (got, want float64) {
	from, to := r.sh.steady[0], r.sh.steady[1]
	for i := from; i < to; i++ {
		got += float64(r.seen[i].sampled)
		want += r.sh.expectedSampled(float64(i)+0.5, boost)
	}
	k := float64(to-from) * r.sh.budget
	return got / k, want / k
}

// steadyPerSecond returns the mean per second over the steady part of f.
func (r *simRun) steadyPerSecond(f func(simSeen) int) float64 {
	var n int
	for i := r.sh.steady[0]; i < r.sh.steady[1]; i++ {
		n += f(r.seen[i])
	}
	return float64(n) / float64(r.sh.steady[1]-r.sh.steady[0])
}

// boostTrace reads the error boost from the carried probability: an
// interval is boosted when its probability is more than twice the ideal
// (the boost is 4x). Counting starts at the first interval whose
// probability is within ±25% of the ideal or of 4x it (start-up is over).
// It returns the number of on/off changes after that, the first boosted
// interval (-1: none) and whether the last one is boosted.
func (r *simRun) boostTrace() (flips, firstOn int, endOn bool) {
	firstOn, start := -1, -1
	for i := range r.seen {
		if r.within(i, 1, 0.25) || r.within(i, sampler.DefaultErrorBoost, 0.25) {
			start = i
			break
		}
	}
	if start < 0 {
		return -1, -1, false
	}
	prev := false
	for i := start; i < len(r.seen); i++ {
		on := r.seen[i].p > 2*r.ideal[i]
		if i > start && on != prev {
			flips++
		}
		if on && firstOn < 0 {
			firstOn = i
		}
		prev = on
	}
	return flips, firstOn, prev
}

// rareRates returns, for each rare name, its sampled roots per second over
// the steady part.
func (r *simRun) rareRates() (names []string, rates []float64) {
	for _, st := range r.sh.streams {
		if !st.rare {
			continue
		}
		for _, name := range st.names {
			names = append(names, name)
			rates = append(rates, r.steadyPerSecond(func(s simSeen) int { return s.names[name] }))
		}
	}
	return names, rates
}

// log writes the run interval by interval.
func (r *simRun) log(t testing.TB) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s, seed %d, budget %g spans/s, %d spans per trace; p: carried by the last sampled local root of the second; ideal: base probability the budget asks for at its end\n",
		r.sh.label, *simSeed, r.sh.budget, r.sh.spans)
	rare, _ := r.rareRates()
	fmt.Fprintf(&b, "%4s %8s %7s %7s %8s %6s %6s %8s %10s %21s %10s %7s %7s",
		"t/s", "roots", "remote", "up-smp", "sampled", "s/bud", "sroots", "followed", "p", "p min-max", "ideal", "p/ideal", "errors")
	if len(rare) > 0 {
		fmt.Fprintf(&b, "  rare names' sampled/arrived roots: %s", strings.Join(rare, ", "))
	}
	b.WriteString("\n")
	for i, s := range r.seen {
		tr := r.truth[i]
		fmt.Fprintf(&b, "%4d %8d %7d %7d %8d %6.2f %6d %8d %10.6f %10.6f-%10.6f %10.6f %7.3f %3d/%-3d",
			i, tr.roots, tr.remote, tr.remoteSampled, s.sampled, float64(s.sampled)/r.sh.budget, s.roots, s.followed,
			s.p, s.pMin, s.pMax, r.ideal[i], s.p/r.ideal[i], s.errors, tr.errors)
		if len(rare) > 0 {
			b.WriteString(" ")
			for _, name := range rare {
				fmt.Fprintf(&b, " %d/%d", s.names[name], tr.rare[name])
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Stats after the run: %+v\n", r.stats)
	t.Log(b.String())
}

// Helpers for rates.

func constRate(v float64) func(float64) float64 { return func(float64) float64 { return v } }

// simPhase is a rate from a time on, in seconds.
type simPhase struct{ from, rate float64 }

// phases returns a rate that is ps[i].rate from ps[i].from seconds on.
func phases(ps ...simPhase) func(float64) float64 {
	return func(t float64) float64 {
		r := 0.0
		for _, p := range ps {
			if t >= p.from {
				r = p.rate
			}
		}
		return r
	}
}

func stepRate(before, after, at float64) func(float64) float64 {
	return phases(simPhase{0, before}, simPhase{at, after})
}

// simBudget is the budget of most shapes, in sampled spans per second.
const simBudget = 1000.0

// simShapes returns the workloads of TestSimulationTable. The heaviest are
// scaled by simScale (rates and budget together, so the probabilities are
// the same) to keep the race-detector run fast.
func simShapes() []*simShape {
	const s = simScale
	hot := make([]string, 300)
	for i := range hot {
		hot[i] = fmt.Sprintf("GET /api/%03d", i)
	}
	names := func() []simStream {
		st := []simStream{{rate: constRate(5_000), names: hot}}
		for i := range 3 {
			st = append(st, simStream{rate: constRate(1), names: []string{fmt.Sprintf("GET /rare/%d", i)}, rare: true, phase: 0.25 * float64(i+1)})
		}
		return st
	}
	followed := func(label, id string, up simUpstream) *simShape {
		return &simShape{id: id, label: label, seconds: 20, budget: simBudget, spans: 1,
			streams: []simStream{
				{rate: constRate(5_000)},
				{rate: constRate(400), remote: &up, phase: 0.0005, names: []string{"GET /downstream"}},
			},
			steps: []float64{0}, steady: [2]int{5, 20}, holdsBudget: true}
	}
	overBudget := func(label, id string, up simUpstream) *simShape {
		return &simShape{id: id, label: label, seconds: 20, budget: simBudget, spans: 1,
			streams: []simStream{
				{rate: constRate(1_000)},
				{rate: constRate(2_000), remote: &up, phase: 0.0005, names: []string{"GET /downstream"}},
			},
			steps: []float64{0}, steady: [2]int{5, 20}, overBudget: true}
	}
	errorsAt := func(ratio float64) *simShape {
		return &simShape{id: fmt.Sprintf("errors-%g%%", 100*ratio), label: fmt.Sprintf("errors steady at %g%% (threshold 5%%), 5k roots/s", 100*ratio),
			seconds: 20, budget: simBudget, spans: 1,
			streams: []simStream{{rate: constRate(5_000), errRate: constRate(ratio)}},
			steps:   []float64{0}, steady: [2]int{5, 20},
			errorRate: ratio, boostExpected: ratio > sampler.DefaultErrorThreshold, holdsBudget: ratio < sampler.DefaultErrorThreshold}
	}
	diurnal := func(t float64) float64 { return s * (10_500 - 9_500*math.Cos(2*math.Pi*t/60)) }
	return []*simShape{
		{id: "steady", label: "steady 10k roots/s, 4 spans per trace", seconds: 20, budget: s * simBudget, spans: 4,
			streams: []simStream{{rate: constRate(s * 10_000)}}, steps: []float64{0}, steady: [2]int{5, 20}, holdsBudget: true},
		// The default budget, 25 traces a second: a start-up's overload
		// shows after a fixed number of sampled traces, a larger part of a
		// small budget. (The steady mean is not checked: 25 traces a second
		// are ±5% over 15 s by Poisson noise alone.)
		{id: "steady-default-budget", label: "steady 1k roots/s, 4 spans per trace, default budget", seconds: 20, budget: sampler.DefaultBudget, spans: 4,
			streams: []simStream{{rate: constRate(1_000)}}, steps: []float64{0}, steady: [2]int{5, 20}},
		{id: "step-up-10x", label: "10x step up, 10k→100k roots/s at 8.5 s", seconds: 20, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: stepRate(s*10_000, s*100_000, 8.5)}}, steps: []float64{0, 8.5}, steady: [2]int{13, 20},
			maxConverge: 3, holdsBudget: true},
		{id: "step-down-10x", label: "10x step down, 100k→10k roots/s at 8.5 s", seconds: 20, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: stepRate(s*100_000, s*10_000, 8.5)}}, steps: []float64{0, 8.5}, steady: [2]int{13, 20},
			maxConverge: 3, holdsBudget: true},
		{id: "step-up-500x", label: "500x step up, 500→250k roots/s at 8.5 s", seconds: 16, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: stepRate(s*500, s*250_000, 8.5)}}, steps: []float64{0, 8.5}, steady: [2]int{12, 16},
			holdsBudget: true},
		{id: "step-down-500x", label: "500x step down, 250k→500 roots/s at 6.5 s", seconds: 16, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: stepRate(s*250_000, s*500, 6.5)}}, steps: []float64{0, 6.5}, steady: [2]int{11, 16},
			maxConverge: 8, holdsBudget: true},
		{id: "burst-silence", label: "10k roots/s, burst of 100k/s 6.5-11.5 s, silence to 19.5 s, 10k/s again", seconds: 28, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: phases(simPhase{0, s * 10_000}, simPhase{6.5, s * 100_000}, simPhase{11.5, 0}, simPhase{19.5, s * 10_000})}},
			steps:   []float64{0, 6.5, 19.5}, steady: [2]int{23, 28}, holdsBudget: true},
		{id: "diurnal", label: "diurnal: 1k-20k roots/s, a sine over 60 s, 2 spans per trace", seconds: 60, budget: s * simBudget, spans: 2,
			streams: []simStream{{rate: diurnal}}, steps: []float64{0}, steady: [2]int{3, 60}, holdsBudget: true, diurnal: true},
		{id: "names-fair", label: "300 names, 5k roots/s, + 3 rare names at 1/s, WithFairness(1)", seconds: 30, budget: simBudget, spans: 1,
			streams: names(), fairMin: 1, steps: []float64{0}, steady: [2]int{5, 30}, holdsBudget: true},
		{id: "names-unfair", label: "the same without fairness", seconds: 15, budget: simBudget, spans: 1,
			streams: names(), steps: []float64{0}, steady: [2]int{5, 15}, holdsBudget: true},
		followed("5k local roots/s + 400/s remote-parented, upstream p=1", "followed-p1", simUpstream{p: 1}),
		followed("... upstream p=0.1", "followed-p0.1", simUpstream{p: 0.1}),
		followed("... upstream p=0.01", "followed-p0.01", simUpstream{p: 0.01}),
		followed("... hostile upstream: th:ffffffffffffff, all sampled", "followed-hostile", simUpstream{hostile: true}),
		overBudget("1k local roots/s + 2k/s remote-parented, upstream p=1 (upstream alone 2x the budget)", "overbudget-p1", simUpstream{p: 1}),
		overBudget("... hostile upstream (upstream alone 2x the budget)", "overbudget-hostile", simUpstream{hostile: true}),
		errorsAt(0.01),
		errorsAt(0.02),
		errorsAt(0.06),
		errorsAt(0.10),
		{id: "startup", label: "start-up at 50k roots/s from p=1", seconds: 10, budget: s * simBudget, spans: 1,
			streams: []simStream{{rate: constRate(s * 50_000)}}, steps: []float64{0}, steady: [2]int{3, 10}, holdsBudget: true},
	}
}

// TestSimulationTable runs every shape, checks what issue 15 asks the
// sampler to show, and logs the table for the README:
//
//	go test ./sampler -run TestSimulationTable -v [-sim.seed N] [-sim.intervals]
func TestSimulationTable(t *testing.T) {
	shapes := simShapes()
	runs := make([]*simRun, len(shapes))
	t.Run("shapes", func(t *testing.T) {
		for i, sh := range shapes {
			t.Run(sh.id, func(t *testing.T) {
				t.Parallel()
				runs[i] = simulate(t, sh)
				checkRun(t, runs[i])
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Adaptive driven through an sdktrace.TracerProvider, interval 1 s, seed %d:\n", *simSeed)
	fmt.Fprintf(&b, "go test ./sampler -run TestSimulationTable -v -sim.seed %d", *simSeed)
	if simScale != 1 {
		fmt.Fprintf(&b, " (race build: budgets and rates marked * scaled by %g)", simScale)
	}
	b.WriteString("\n\n| shape | budget (spans/s) | intervals to converge to ±10% (sampled/budget then) | worst second / budget | steady part: sampled / budget | rare names: sampled roots/s each | boost flips |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		if r == nil {
			continue
		}
		sh := r.sh
		budget := fmt.Sprintf("%g", sh.budget)
		if sh.budget != simBudget && simScale != 1 {
			budget += "*"
		}
		var conv []string
		if sh.diurnal {
			var in, n int
			for i := sh.steady[0]; i < sh.steady[1]; i++ {
				n++
				if r.within(i, 1, 0.10) {
					in++
				}
			}
			lo, hi := math.Inf(1), 0.0
			for i := sh.steady[0]; i < sh.steady[1]; i++ {
				lo, hi = min(lo, r.seen[i].p/r.ideal[i]), max(hi, r.seen[i].p/r.ideal[i])
			}
			conv = append(conv, fmt.Sprintf("%.0f%% of intervals within ±10%% (p/ideal %.2f-%.2f)", 100*float64(in)/float64(n), lo, hi))
		} else if sh.errorRate == 0 || !sh.boostExpected {
			for _, st := range sh.steps {
				k, load := r.converged(st)
				what := "start"
				if st > 0 {
					what = fmt.Sprintf("%g s", st)
				}
				if k < 0 {
					conv = append(conv, what+": not before the next step")
				} else {
					conv = append(conv, fmt.Sprintf("%s: %d (%.2f)", what, k, load))
				}
			}
		} else {
			conv = append(conv, "– (boosted)")
		}
		w, at := r.worst()
		got, want := r.steadyMean(boostOf(sh))
		mean := fmt.Sprintf("%.3f", got)
		if math.Abs(want-1) > 0.01 {
			mean += fmt.Sprintf(" (ideal %.3f)", want)
		}
		rare := "–"
		if _, rates := r.rareRates(); len(rates) > 0 {
			var parts []string
			for _, v := range rates {
				parts = append(parts, fmt.Sprintf("%.2f", v))
			}
			rare = strings.Join(parts, ", ")
		}
		flips := "–"
		if sh.errorRate > 0 {
			f, on, end := r.boostTrace()
			switch {
			case on < 0:
				flips = fmt.Sprintf("%d (off throughout)", f)
			default:
				flips = fmt.Sprintf("%d (on from %d s, on at the end: %t)", f, on, end)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f (at %d s) | %s | %s | %s |\n",
			sh.label, budget, strings.Join(conv, "; "), w, at, mean, rare, flips)
	}
	t.Log(b.String())
}

// boostOf is the error boost a shape should run at in its steady part.
func boostOf(sh *simShape) float64 {
	if sh.boostExpected {
		return sampler.DefaultErrorBoost
	}
	return 1
}

// checkRun checks what issue 15 asks of one shape, and logs the run's
// intervals if anything fails (or with -sim.intervals).
func checkRun(t *testing.T, r *simRun) {
	t.Helper()
	sh := r.sh
	failed := false
	fail := func(format string, args ...any) {
		t.Helper()
		failed = true
		t.Errorf("seed %d: %s: %s", *simSeed, sh.label, fmt.Sprintf(format, args...))
	}
	for _, msg := range r.bad {
		fail("harness: %s", msg)
	}
	for i, s := range r.seen {
		if s.roots > 0 && (s.pMin < sampler.DefaultFloor || s.pMax > sampler.DefaultCeiling) {
			fail("second %d: carried probabilities %g-%g outside [%g, %g]", i, s.pMin, s.pMax, sampler.DefaultFloor, sampler.DefaultCeiling)
		}
	}
	// Convergence after each step.
	if sh.maxConverge > 0 {
		for _, st := range sh.steps[1:] {
			if k, _ := r.converged(st); k < 0 || k > sh.maxConverge {
				fail("the step at %g s converged after %d intervals, want at most %d (-1: never)", st, k, sh.maxConverge)
			}
		}
	}
	// No second above twice the budget (boosted: twice the boosted budget).
	if !sh.overBudget {
		if w, at := r.worst(); w > 2*boostOf(sh) {
			fail("second %d sampled %.2f times the budget, want at most %g", at, w, 2*boostOf(sh))
		}
	}
	// The budget holds over the steady part.
	if sh.holdsBudget {
		if got, want := r.steadyMean(1); math.Abs(got/want-1) > 0.10 {
			fail("the steady part (%d-%d s) sampled %.3f of the budget, the budget asks for %.3f (want within ±10%%)",
				sh.steady[0], sh.steady[1], got, want)
		}
	}
	// Upstreams alone exceed the budget: local roots keep their share.
	if sh.overBudget {
		share := sh.ideal(float64(sh.steady[0])) * sh.streams[0].rate(0)
		if got := r.steadyPerSecond(func(s simSeen) int { return s.roots }); math.Abs(got/share-1) > 0.10 {
			fail("local roots sampled %.1f/s over the steady part, their share of the budget is %.1f/s (want within ±10%%)", got, share)
		}
	}
	// The boost holds its state at a steady error rate.
	if sh.errorRate > 0 {
		flips, on, end := r.boostTrace()
		switch {
		case flips < 0:
			fail("the carried probability never settled near the ideal or 4x it")
		case !sh.boostExpected && on >= 0:
			fail("the boost went on at %d s (%d flips), at a steady %g%% of errors, below the %g%% threshold",
				on, flips, 100*sh.errorRate, 100*sampler.DefaultErrorThreshold)
		case sh.boostExpected && (on < 0 || !end || flips > 1):
			fail("the boost flipped %d times (first on at %d s, on at the end: %t), at a steady %g%% of errors: want on, and staying on",
				flips, on, end, 100*sh.errorRate)
		}
	}
	// Fairness: every rare name keeps sampled roots.
	if sh.fairMin > 0 {
		names, rates := r.rareRates()
		for i, v := range rates {
			if v < 0.5 {
				fail("rare name %q got %.2f sampled roots/s, want at least 0.5 (it may share a hash bucket with a hot name)", names[i], v)
			}
		}
	}
	if failed || *simIntervals {
		r.log(t)
	}
}

// TestSimulationErrorBurstBoostsThenReturns: errors rise from 0.1% to 5%
// for 10 s (threshold 2%): the boost goes on at the first adjustment that
// sees a full interval of the burst, stays on through it, and the
// probability returns to the base within 8 intervals of its end.
func TestSimulationErrorBurstBoostsThenReturns(t *testing.T) {
	const start, end = 10, 20
	sh := &simShape{id: "error-burst", label: "5% error burst at 5k roots/s", seconds: 30, budget: simBudget, spans: 1,
		streams: []simStream{{rate: constRate(5_000), errRate: phases(simPhase{0, 0.001}, simPhase{start, 0.05}, simPhase{end, 0.001})}},
		opts:    []sampler.Option{sampler.WithErrorBoost(0.02, 4)}}
	r := simulate(t, sh)
	defer func() {
		if t.Failed() || *simIntervals {
			r.log(t)
		}
	}()
	ratio := func(i int) float64 { return r.seen[i].p / r.ideal[i] }
	if math.Abs(ratio(start-1)-1) > 0.1 {
		t.Fatalf("seed %d: probability before the burst %g, want about %g", *simSeed, r.seen[start-1].p, r.ideal[start-1])
	}
	// The tick at start+1 sees a full interval of the burst, so the
	// probability is boosted by the end of interval start+1.
	for i := start + 1; i < end; i++ {
		if ratio(i) < 3 {
			t.Fatalf("seed %d: interval %d, inside the burst: probability %g, want about 4x %g", *simSeed, i, r.seen[i].p, r.ideal[i])
		}
	}
	back := -1
	for i := end; i < sh.seconds; i++ {
		if math.Abs(ratio(i)-1) <= 0.1 {
			back = i
			break
		}
	}
	if back < 0 || back-end > 8 {
		t.Fatalf("seed %d: probability did not return to the base within 8 intervals of the burst's end (back at %d s)", *simSeed, back)
	}
	t.Logf("seed %d: error burst: boosted by the end of interval %d (p %.4f -> %.4f), back to base %d intervals after it ended",
		*simSeed, start+1, r.seen[start-1].p, r.seen[start+1].p, back-end)
}

// TestSimulationErrorRatioUnbiased checks the sampler's error ratio
// estimate (Stats, read once after the run) against the truth, 5%, when
// the probability is low and when it moves: each sampled root is weighted
// by its adjusted count.
func TestSimulationErrorRatioUnbiased(t *testing.T) {
	const truth = 0.05
	// Pinned at p (with 1,000 roots/s sampled), the sampler starts no
	// goroutine and adjusts on the spans it samples.
	p := 0.01
	if simScale != 1 {
		p = 0.05
	}
	tests := []*simShape{
		{id: "pinned", label: fmt.Sprintf("pinned at p=%g", p), seconds: 10, budget: simBudget, spans: 1,
			streams: []simStream{{rate: constRate(simBudget / p), errRate: constRate(truth)}},
			opts:    []sampler.Option{sampler.WithFloor(p), sampler.WithCeiling(p)}, pinned: true},
		// The probability swings from 0.5 to 0.05 and back, well inside
		// the estimate's window of about 20 intervals.
		{id: "moving", label: "p moving 0.5-0.05-0.5", seconds: 18, budget: simBudget, spans: 1,
			streams: []simStream{{rate: phases(simPhase{0, 2_000}, simPhase{6, 20_000}, simPhase{12, 2_000}), errRate: constRate(truth)}},
			opts:    []sampler.Option{sampler.WithErrorBoost(0.5, 1)}},
	}
	for _, sh := range tests {
		t.Run(sh.id, func(t *testing.T) {
			t.Parallel()
			r := simulate(t, sh)
			got := r.stats.ErrorRatio
			if math.Abs(got/truth-1) > 0.2 {
				r.log(t)
				t.Fatalf("seed %d: %s: error ratio estimate %.4f, truth %.4f (want within ±20%%)", *simSeed, sh.label, got, truth)
			}
			t.Logf("seed %d: %s: error ratio estimate %.4f, truth %.4f", *simSeed, sh.label, got, truth)
		})
	}
}

// TestSimulationHardCap: at 10k roots/s with a budget of 1,000 and a cap
// of 200 traces/s, no second samples more roots than the cap and its
// bucket (20), start-up included, and the probability follows the cap (at
// 0.9 of it), so the bucket only clips the start and rare bursts.
func TestSimulationHardCap(t *testing.T) {
	sh := &simShape{id: "cap", label: "cap 200/s at 10k roots/s", seconds: 20, budget: simBudget, spans: 1,
		streams: []simStream{{rate: constRate(10_000)}},
		opts:    []sampler.Option{sampler.WithMaxTracesPerSecond(200)}}
	r := simulate(t, sh)
	defer func() {
		if t.Failed() || *simIntervals {
			r.log(t)
		}
	}()
	for i, s := range r.seen {
		if s.roots > 220 {
			t.Errorf("seed %d: second %d sampled %d roots, over the cap of 200/s and its bucket of 20", *simSeed, i, s.roots)
		}
	}
	var p float64
	for _, s := range r.seen[len(r.seen)-5:] {
		p += s.p / 5
	}
	if math.Abs(p/0.018-1) > 0.2 {
		t.Errorf("seed %d: carried probability %.4f over the last 5 s, want about 0.9 × 200/10k = 0.018", *simSeed, p)
	}
	if r.stats.Capped == 0 || r.stats.Capped > 1500 {
		t.Errorf("seed %d: the cap refused %d roots: it should clip the start and only rare bursts after", *simSeed, r.stats.Capped)
	}
}
