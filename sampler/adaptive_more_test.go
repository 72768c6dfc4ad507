package sampler_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otlpgo/otlpgo/sampler"
)

func TestZeroAdaptiveSamplesEverything(t *testing.T) {
	var a sampler.Adaptive
	res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: traceID(1, 0)})
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=th:0" {
		t.Errorf("zero Adaptive: %v %q, want sampled with th:0", res.Decision, res.Tracestate.String())
	}
	child := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, traceID(1, 0), true, false, "ot=th:0"), TraceID: traceID(1, 0)})
	if child.Decision != sdktrace.RecordAndSample {
		t.Errorf("zero Adaptive child: %v", child.Decision)
	}
	a.OnEnd(tracetest.SpanStub{}.Snapshot())
	if a.Rate() != 1 || a.Stats().Probability != 1 || a.Description() == "" {
		t.Errorf("zero Adaptive: rate %g stats %+v", a.Rate(), a.Stats())
	}
}

// TestProbabilityStaysWithinBounds drives samplers with random floors,
// ceilings and loads, and checks every probability they publish.
func TestProbabilityStaysWithinBounds(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for range 30 {
		floor := math.Pow(10, -6*rng.Float64()) // 1e-6 to 1
		ceiling := floor + (1-floor)*rng.Float64()
		if ceiling < floor*1.001 {
			ceiling = min(1, floor*1.001) // apart by more than the encoding's step
		}
		clk := &fakeClock{t: time.Unix(1e9, 0)}
		a := sampler.NewAdaptive(sampler.WithFloor(floor), sampler.WithCeiling(ceiling),
			sampler.WithBudget(1+999*rng.Float64()), sampler.WithClock(clk.now))
		for i := range 20 {
			qps := math.Pow(10, 1+4*rng.Float64())
			for range int(qps / 20) { // a twentieth of a second's roots
				clk.t = clk.t.Add(time.Duration(float64(time.Second) / qps))
				root(a, traceID(rng.Uint64(), rng.Uint64()))
			}
			if p := a.Rate(); p < floor || p > ceiling {
				t.Fatalf("step %d: probability %g outside [%g, %g]", i, p, floor, ceiling)
			}
		}
	}
}

// TestLullRaisesProbabilityByEvidence stops the traffic: the probability
// rises at each adjustment, by what the empty intervals prove (at least
// 4x), and reaches the ceiling within three empty ones.
func TestLullRaisesProbabilityByEvidence(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := sampler.NewAdaptive(sampler.WithBudget(100), sampler.WithClock(clk.now))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3 * 10_000 { // 3 s at 10k/s: p settles near 0.01
		clk.t = clk.t.Add(100 * time.Microsecond)
		root(a, traceID(rng.Uint64(), rng.Uint64()))
	}
	prev := a.Rate()
	if prev > 0.02 {
		t.Fatalf("probability %g after 3 s at 10k/s and budget 100, want about 0.01", prev)
	}
	for i := range 4 { // traffic stops (the first interval still saw some)
		clk.t = clk.t.Add(time.Second)
		p := a.Rate()
		if p < prev || (i > 0 && p < min(1, 4*prev)) {
			t.Fatalf("lull interval %d: probability %g after %g, want a rise (at least 4x once empty)", i, p, prev)
		}
		prev = p
	}
	if prev != 1 {
		t.Errorf("probability %g after three empty intervals, want the ceiling", prev)
	}
}

func TestEarlyAdjustmentOnOverloadOnly(t *testing.T) {
	run := func(opts ...sampler.Option) sampler.Stats {
		clk := &fakeClock{t: time.Unix(1e9, 0)}
		a := sampler.NewAdaptive(append([]sampler.Option{sampler.WithBudget(100), sampler.WithClock(clk.now)}, opts...)...)
		rng := rand.New(rand.NewPCG(5, 6))
		for range 5_000 { // half a second at 10k/s, from p=1
			clk.t = clk.t.Add(100 * time.Microsecond)
			root(a, traceID(rng.Uint64(), rng.Uint64()))
		}
		return a.Stats()
	}
	// From p=1 at 100x the budget, the sampler adjusts once 200 spans are
	// sampled (twice the interval's budget), tens of ms in, not at 1 s.
	if st := run(); st.Interval == 0 || st.Interval > 200*time.Millisecond || st.Probability > 0.05 {
		t.Errorf("overloaded from the start: %+v, want an early adjustment to about 0.01", st)
	}
	// Pinned at the floor, adjusting early cannot help: none happens.
	if st := run(sampler.WithFloor(0.5), sampler.WithCeiling(0.5)); st.Interval != 0 {
		t.Errorf("at the floor: adjusted after %v, want no adjustment within the interval", st.Interval)
	}
}

func TestClockSteppingBackIsHarmless(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := sampler.NewAdaptive(sampler.WithBudget(100), sampler.WithClock(clk.now))
	rng := rand.New(rand.NewPCG(7, 8))
	feed := func(n int) {
		for range n {
			clk.t = clk.t.Add(100 * time.Microsecond)
			root(a, traceID(rng.Uint64(), rng.Uint64()))
		}
	}
	feed(20_000)
	before := a.Stats()
	clk.t = clk.t.Add(-time.Hour) // a fake clock stepped back; real clocks use monotonic readings
	feed(20_000)
	if st := a.Stats(); st.Probability < sampler.DefaultFloor || st.Probability > 1 || st.Interval < 0 {
		t.Fatalf("after the clock stepped back: %+v (before: %+v)", st, before)
	}
	clk.t = clk.t.Add(2 * time.Hour) // past the last adjustment again
	feed(20_000)
	if st := a.Stats(); st.Probability > 0.05 {
		t.Errorf("no longer adjusting after the clock came back: %+v", st)
	}
}

func TestNotParentBasedDecidesChildrenByTraceID(t *testing.T) {
	a := fixed(0.5, sampler.WithParentBased(false))
	for _, r := range []uint64{1, 1<<56 - 1} {
		id := traceID(2, r)
		parent := root(a, id)
		// The parent context claims the opposite decision; the child
		// decides by the trace ID, which gives the root's answer again.
		ctx := parentCtx(t, id, parent.Decision != sdktrace.RecordAndSample, false, "")
		child := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id})
		if child.Decision != parent.Decision {
			t.Errorf("randomness %x: child %v, root %v", r, child.Decision, parent.Decision)
		}
	}
}

func TestLongOTEntryKeepsRandomness(t *testing.T) {
	a := fixed(0.5, sampler.WithParentBased(false))
	// An ot entry whose rewrite would pass the 256-character limit.
	long := "ot=rv:f0000000000000;" + strings.Repeat("k:v;", 58) + "z:1"
	id := traceID(1, 0)
	res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, id, true, true, long), TraceID: id})
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.Get("ot") != "th:8;rv:f0000000000000" {
		t.Errorf("long ot entry: %v %q, want sampled with th:8;rv:f0000000000000", res.Decision, res.Tracestate.Get("ot"))
	}
}

// TestHostileRemoteThresholdIsIgnored sends spans whose remote parent
// claims each stands for 2^56 spans: they count one each against the
// budget, and local roots get the rest.
func TestHostileRemoteThresholdIsIgnored(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := sampler.NewAdaptive(sampler.WithBudget(1000), sampler.WithClock(clk.now))
	rng := rand.New(rand.NewPCG(9, 10))
	hostile := parentCtx(t, traceID(0, 1<<56-1), true, true, "ot=th:ffffffffffffff;rv:ffffffffffffff")
	for i := range 100_000 { // 10 s at 10k/s, one hostile span in 100
		clk.t = clk.t.Add(100 * time.Microsecond)
		if i%100 == 0 {
			a.ShouldSample(sdktrace.SamplingParameters{ParentContext: hostile, TraceID: traceID(0, 1<<56-1)})
			continue
		}
		root(a, traceID(rng.Uint64(), rng.Uint64()))
	}
	// 100 followed spans a second leave 900 for 9,900 local roots.
	want := 900.0 / 9900
	if st := a.Stats(); math.Abs(st.Probability/want-1) > 0.1 || math.Abs(st.FollowedPerSecond/100-1) > 0.1 {
		t.Errorf("with hostile thresholds: %+v, want p near %.4f and 100 followed spans/s", st, want)
	}
}

func TestDropWithParentTraceStateAllocatesNothing(t *testing.T) {
	notSampled := parentCtx(t, traceID(1, 1), false, true, "ot=th:8;rv:00000000000001,vendor=x")
	p := sdktrace.SamplingParameters{ParentContext: notSampled, TraceID: traceID(1, 1)}
	a := fixed(0.5)
	if n := testing.AllocsPerRun(1000, func() { _ = a.ShouldSample(p) }); n != 0 {
		t.Errorf("following an unsampled parent: %v allocs, want 0", n)
	}
	// Not parent-based, a drop under a parent without th passes the
	// tracestate on as it is. (Under a th, it erases it: a new tracestate.)
	noTh := parentCtx(t, traceID(1, 1), false, true, "ot=rv:00000000000001,vendor=x")
	b := fixed(0.5, sampler.WithParentBased(false))
	p = sdktrace.SamplingParameters{ParentContext: noTh, TraceID: traceID(1, 1)}
	if n := testing.AllocsPerRun(1000, func() { _ = b.ShouldSample(p) }); n != 0 {
		t.Errorf("dropping by rv with a parent tracestate: %v allocs, want 0", n)
	}
}
