package sampler_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// fixed returns a sampler pinned at probability p. Pinned, it has nothing
// to adjust: the clock option keeps it from starting its goroutine.
func fixed(p float64, opts ...sampler.Option) *sampler.Adaptive {
	return sampler.NewAdaptive(append([]sampler.Option{sampler.WithFloor(p), sampler.WithCeiling(p), sampler.WithClock(time.Now)}, opts...)...)
}

// traceID returns a trace ID whose 56 randomness bits are r.
func traceID(hi uint64, r uint64) trace.TraceID {
	var id trace.TraceID
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], r)
	return id
}

func root(a *sampler.Adaptive, id trace.TraceID) sdktrace.SamplingResult {
	return a.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id, Name: "op"})
}

func TestRootDecisionFollowsThreshold(t *testing.T) {
	a := fixed(0.1) // th:e666, threshold 0xe666 << 40
	const th = uint64(0xe666) << 40
	for _, tt := range []struct {
		r    uint64
		want sdktrace.SamplingDecision
	}{
		{0, sdktrace.Drop}, {th - 1, sdktrace.Drop}, {th, sdktrace.RecordAndSample},
		{1<<56 - 1, sdktrace.RecordAndSample},
		// Only the low 56 bits count: the top byte is ignored.
		{0xff<<56 | (th - 1), sdktrace.Drop},
	} {
		res := root(a, traceID(7, tt.r))
		if res.Decision != tt.want {
			t.Errorf("randomness %014x: %v, want %v", tt.r, res.Decision, tt.want)
		}
		if tt.want == sdktrace.RecordAndSample && res.Tracestate.String() != "ot=th:e666" {
			t.Errorf("sampled root tracestate %q, want ot=th:e666", res.Tracestate.String())
		}
		if tt.want == sdktrace.Drop && res.Tracestate.Len() != 0 {
			t.Errorf("dropped root tracestate %q, want empty", res.Tracestate.String())
		}
	}
	if got := a.Rate(); got != 0.100006103515625 {
		t.Errorf("Rate %v, want th:e666's 0.100006103515625", got)
	}
}

// TestConsistentAcrossProbabilities is the specification's definition of
// consistency: a trace sampled at probability p1 is sampled at every
// p2 >= p1. Checked against a reference (rv >= th) on random trace IDs.
func TestConsistentAcrossProbabilities(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ps := []float64{0.001, 0.01, 0.1, 0.25, 0.5, 0.9, 1}
	samplers := make([]*sampler.Adaptive, len(ps))
	for i, p := range ps {
		samplers[i] = fixed(p)
	}
	for range 20_000 {
		id := traceID(rng.Uint64(), rng.Uint64())
		prev := false
		for i, a := range samplers {
			res := root(a, id)
			sampled := res.Decision == sdktrace.RecordAndSample
			if prev && !sampled {
				t.Fatalf("trace %s sampled at p=%g but not at p=%g", id, ps[i-1], ps[i])
			}
			prev = sampled
			// Reference: the threshold the tracestate would carry.
			want := binary.BigEndian.Uint64(id[8:])&(1<<56-1) >= thresholdOf(t, a)
			if sampled != want {
				t.Fatalf("trace %s at p=%g: sampled %v, reference %v", id, ps[i], sampled, want)
			}
		}
	}
}

// thresholdOf reads a sampler's threshold from a sampled root's tracestate.
func thresholdOf(t testing.TB, a *sampler.Adaptive) uint64 {
	t.Helper()
	res := root(a, traceID(0, 1<<56-1)) // the largest randomness is always sampled
	th, ok := strings.CutPrefix(res.Tracestate.Get("ot"), "th:")
	if !ok {
		t.Fatalf("no th in %q", res.Tracestate.String())
	}
	var v uint64
	for _, c := range th {
		v = v<<4 | uint64(strings.IndexRune("0123456789abcdef", c))
	}
	return v << (4 * (14 - len(th)))
}

func parentCtx(t testing.TB, id trace.TraceID, sampled, remote bool, ts string) context.Context {
	t.Helper()
	state, err := trace.ParseTraceState(ts)
	if err != nil {
		t.Fatal(err)
	}
	var flags trace.TraceFlags
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{9}, TraceFlags: flags, TraceState: state, Remote: remote})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestChildrenFollowTheParent(t *testing.T) {
	a := fixed(0.001)   // would drop almost every root
	id := traceID(1, 5) // randomness 5: below any threshold but th:0
	for _, tt := range []struct {
		name        string
		sampled     bool
		remote      bool
		ts, want    string
		wantSampled bool
	}{
		{"sampled local parent keeps its tracestate", true, false, "ot=th:0,vendor=x", "ot=th:0,vendor=x", true},
		{"sampled remote parent is followed", true, true, "vendor=x", "vendor=x", true},
		{"unsampled parent drops", false, false, "ot=th:8", "ot=th:8", false},
		// rv 5 < th 8: the parent could not have sampled this by the
		// threshold, so the threshold is erased and the rest kept.
		{"inconsistent threshold erased", true, true, "ot=th:8;rv:00000000000005,vendor=x", "ot=rv:00000000000005,vendor=x", true},
		{"inconsistent sole threshold erased", true, false, "ot=th:8,vendor=x", "vendor=x", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, id, tt.sampled, tt.remote, tt.ts), TraceID: id, Name: "child"})
			if (res.Decision == sdktrace.RecordAndSample) != tt.wantSampled || res.Tracestate.String() != tt.want {
				t.Errorf("got %v %q, want sampled=%v %q", res.Decision, res.Tracestate.String(), tt.wantSampled, tt.want)
			}
		})
	}
}

func TestRandomnessValueOverridesTraceID(t *testing.T) {
	a := fixed(0.5, sampler.WithParentBased(false)) // th:8
	low, high := traceID(1, 0), traceID(1, 1<<56-1)
	// An rv in the tracestate decides, whatever the trace ID says.
	res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, high, true, true, "ot=rv:00000000000001;x:y,vendor=v"), TraceID: high})
	if res.Decision != sdktrace.Drop {
		t.Errorf("rv 1 < th 8: %v, want drop", res.Decision)
	}
	res = a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, low, false, true, "ot=rv:f0000000000000,vendor=v"), TraceID: low})
	if res.Decision != sdktrace.RecordAndSample || res.Tracestate.String() != "ot=th:8;rv:f0000000000000,vendor=v" {
		t.Errorf("rv f0… >= th 8: %v %q, want sampled with th:8 added and rv kept", res.Decision, res.Tracestate.String())
	}
	// A drop erases the parent's th, which does not describe this span.
	res = a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, high, true, true, "ot=th:0;rv:00000000000001,vendor=v"), TraceID: high})
	if res.Decision != sdktrace.Drop || res.Tracestate.String() != "ot=rv:00000000000001,vendor=v" {
		t.Errorf("rv 1 < th 8 under a th:0 parent: %v %q, want dropped with th erased and rv kept", res.Decision, res.Tracestate.String())
	}
}

func TestDecideRemoteParent(t *testing.T) {
	a := fixed(0.5, sampler.WithRemoteParent(sampler.DecideRemoteParent))
	// A client that wants every trace sampled: the highest randomness in
	// its trace ID, a sampled flag, and th:0, but no rv. The edge draws a
	// fresh rv, so about half are sampled whatever the client asked for.
	id := traceID(0, 1<<56-1)
	hostile := parentCtx(t, id, true, true, "ot=th:0,vendor=x")
	sampled := 0
	const n = 2000
	for range n {
		res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: hostile, TraceID: id})
		ot := res.Tracestate.Get("ot")
		i := strings.Index(ot, "rv:")
		if i < 0 || len(ot) < i+17 || res.Tracestate.Get("vendor") != "x" {
			t.Fatalf("edge decision %v wrote %q: want a fresh rv, vendor kept", res.Decision, res.Tracestate.String())
		}
		if res.Decision == sdktrace.RecordAndSample {
			sampled++
			if !strings.HasPrefix(ot, "th:8;rv:") {
				t.Fatalf("sampled at the edge with %q, want th:8 and the fresh rv", ot)
			}
		} else if strings.Contains(ot, "th:") {
			t.Fatalf("dropped at the edge with %q, want no threshold", ot)
		}
	}
	// About half (±5σ of a binomial).
	if sampled < n/2-112 || sampled > n/2+112 {
		t.Errorf("sampled %d of %d hostile spans at p=0.5", sampled, n)
	}
	// An explicit rv is the trace's randomness, which the specification
	// forbids changing: the edge decides by it and passes it on as it is.
	for _, tc := range []struct {
		rv   string
		want sdktrace.SamplingDecision
		ot   string
	}{
		{"ffffffffffffff", sdktrace.RecordAndSample, "th:8;rv:ffffffffffffff"},
		{"00000000000001", sdktrace.Drop, "rv:00000000000001"},
	} {
		ctx := parentCtx(t, id, true, true, "ot=th:0;rv:"+tc.rv+",vendor=x")
		res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id})
		if res.Decision != tc.want || res.Tracestate.Get("ot") != tc.ot {
			t.Errorf("edge with rv %s: %v %q, want %v %q", tc.rv, res.Decision, res.Tracestate.Get("ot"), tc.want, tc.ot)
		}
	}
	// A local parent is still followed.
	res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: parentCtx(t, traceID(0, 1), true, false, "ot=th:0"), TraceID: traceID(0, 1)})
	if res.Decision != sdktrace.RecordAndSample {
		t.Errorf("local sampled parent: %v, want followed", res.Decision)
	}
}

func TestInvalidOptionsAreReported(t *testing.T) {
	var mu sync.Mutex
	var got []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); got = append(got, err); mu.Unlock() }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	a := sampler.NewAdaptive(sampler.WithBudget(-1), sampler.WithFloor(0), sampler.WithCeiling(2),
		sampler.WithInterval(0), sampler.WithErrorBoost(1.5, 2), sampler.WithErrorBoost(0.1, 0.5),
		sampler.WithRemoteParent(7), sampler.WithMaxTracesPerSecond(-3), sampler.WithFairness(0),
		sampler.WithFloor(0.5), sampler.WithCeiling(0.25), nil)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 10 {
		t.Fatalf("reported %d errors, want 10: %v", len(got), got)
	}
	for _, err := range got {
		var oe *sampler.OptionError
		if !errors.As(err, &oe) || oe.Option == "" || !strings.HasPrefix(err.Error(), "sampler: ") {
			t.Errorf("error %v is not a *sampler.OptionError", err)
		}
	}
	// Defaults were kept, and the floor was brought down to the ceiling.
	if r := a.Rate(); r > 0.25 {
		t.Errorf("rate %g above the ceiling 0.25", r)
	}
	if d := a.Description(); !strings.Contains(d, "budget:100/s") {
		t.Errorf("description %q does not show the default budget", d)
	}
}

// TestThroughTheSDK installs the sampler in a TracerProvider: spans carry
// the threshold, children share it, and errors reach the estimate.
func TestThroughTheSDK(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	a := sampler.NewAdaptive(sampler.WithClock(clk.now), sampler.WithBudget(1e6), sampler.WithErrorBoost(0.1, 2))
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a), sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("test")
	for i := range 20 {
		ctx, parent := tracer.Start(context.Background(), "request")
		_, child := tracer.Start(ctx, "query")
		child.End()
		if i%2 == 0 {
			parent.SetStatus(codes.Error, "failed")
		}
		parent.End()
	}
	for _, s := range rec.Ended() {
		if got := s.SpanContext().TraceState().String(); got != "ot=th:0" {
			t.Fatalf("span %s tracestate %q, want ot=th:0 (probability 1)", s.Name(), got)
		}
	}
	clk.t = clk.t.Add(2 * time.Second)
	st := a.Stats()
	if st.ErrorRatio != 0.5 || !st.Boosted || st.Probability != 1 {
		t.Errorf("stats after 10 of 20 requests failed: %+v", st)
	}
	if st.SampledPerSecond != 20 { // 40 spans over 2s
		t.Errorf("sampled/s %g, want 20", st.SampledPerSecond)
	}
}

func TestDropAllocatesNothing(t *testing.T) {
	a := fixed(0.001)
	drop := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: traceID(1, 1), Name: "op"}
	if n := testing.AllocsPerRun(1000, func() { _ = a.ShouldSample(drop) }); n != 0 {
		t.Errorf("ShouldSample on a drop: %v allocs, want 0", n)
	}
	// A sampled root with an empty tracestate reuses the precomputed one.
	keep := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: traceID(1, 1<<56-1), Name: "op"}
	if n := testing.AllocsPerRun(1000, func() { _ = a.ShouldSample(keep) }); n != 0 {
		t.Errorf("ShouldSample on a sampled root: %v allocs, want 0", n)
	}
}

func TestAdaptiveConcurrentSafe(t *testing.T) {
	a := sampler.NewAdaptive(sampler.WithBudget(500), sampler.WithInterval(time.Millisecond),
		sampler.WithMaxTracesPerSecond(1e5), sampler.WithFairness(10))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("t")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				ctx, s := tracer.Start(context.Background(), "op"+strconv.Itoa(i%300)) // more names than fairness tracks
				_, c := tracer.Start(ctx, "child")
				c.End()
				if (i+g)%7 == 0 {
					s.SetStatus(codes.Error, "x")
				}
				s.End()
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			st := a.Stats()
			if p := a.Rate(); p < sampler.DefaultFloor || p > 1 || st.Probability < sampler.DefaultFloor || st.ErrorRatio < 0 || st.ErrorRatio > 1 {
				t.Errorf("out of range: rate %g stats %+v", p, st)
			}
		}
	})
	wg.Wait()
}
