package sampler_test

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

var simSeed = flag.Uint64("sim.seed", 1, "seed of the sampler simulations' trace IDs and errors")

// The simulation drives an Adaptive through its public API with a fake
// clock: root spans arrive evenly spaced at a rate that follows a traffic
// shape, each with a random trace ID; sampled ones end, with an error
// status at the shape's error rate, and are handed to the sampler's
// SpanProcessor side. It is deterministic for a given seed.

const simInterval = time.Second

type shape struct {
	name      string
	duration  time.Duration
	qps       func(t time.Duration) float64 // root spans per second at t
	errRate   func(t time.Duration) float64 // share of roots ending in error
	rareEvery int                           // every rareEvery-th root is named "GET /rare"; 0: none
}

func constant(v float64) func(time.Duration) float64 { return func(time.Duration) float64 { return v } }

// step is a before, then from at on, after.
func step(before, after float64, at time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t < at {
			return before
		}
		return after
	}
}

// window is v from start to end, else base.
func window(base, v float64, start, end time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t >= start && t < end {
			return v
		}
		return base
	}
}

// interval is what one simulated interval saw.
type interval struct {
	arrivals, sampled, errors, sampledErrors int
	rareArrivals, rareSampled                int
	p                                        float64 // probability at the interval's end
	stats                                    sampler.Stats
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func simulate(t testing.TB, sh shape, opts ...sampler.Option) []interval {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := clk.t
	a := sampler.NewAdaptive(append([]sampler.Option{sampler.WithClock(clk.now), sampler.WithInterval(simInterval)}, opts...)...)
	rng := rand.New(rand.NewPCG(*simSeed, 0x73696d))
	ctx := context.Background()
	out := make([]interval, int(sh.duration/simInterval))
	var now time.Duration
	n := 0
	for {
		now += time.Duration(float64(time.Second) / sh.qps(now))
		if now >= sh.duration {
			break
		}
		if i := int(now / simInterval); i > 0 && out[i-1].p == 0 {
			out[i-1].p = a.Rate() // the interval that just ended
			out[i-1].stats = a.Stats()
		}
		clk.t = start.Add(now)
		cur := &out[int(now/simInterval)]
		var tid trace.TraceID
		binary.BigEndian.PutUint64(tid[:8], rng.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rng.Uint64())
		isErr := rng.Float64() < sh.errRate(now)
		cur.arrivals++
		if isErr {
			cur.errors++
		}
		name := "GET /orders"
		if n++; sh.rareEvery > 0 && n%sh.rareEvery == 0 {
			name = "GET /rare"
			cur.rareArrivals++
		}
		res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: tid, Name: name, Kind: trace.SpanKindServer})
		if res.Decision != sdktrace.RecordAndSample {
			continue
		}
		cur.sampled++
		if name == "GET /rare" {
			cur.rareSampled++
		}
		stub := tracetest.SpanStub{
			Name: "GET /orders",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, TraceState: res.Tracestate,
			}),
		}
		if isErr {
			cur.sampledErrors++
			stub.Status = sdktrace.Status{Code: codes.Error, Description: "boom"}
		}
		a.OnEnd(stub.Snapshot())
	}
	last := &out[len(out)-1]
	last.p, last.stats = a.Rate(), a.Stats()
	return out
}

// checkBounds asserts the floor and ceiling were never crossed.
func checkBounds(t testing.TB, ivs []interval, floor, ceiling float64) {
	t.Helper()
	for i, iv := range ivs {
		if iv.p < floor || iv.p > ceiling {
			t.Errorf("interval %d: probability %g outside [%g, %g]", i, iv.p, floor, ceiling)
		}
	}
}

// convergence returns the first interval at or after from that starts
// three in a row with sampled spans within tol of budget, the worst
// overshoot (sampled/budget - 1) from from on, the mean ratio from the
// settled interval on, and the worst single-interval deviation after it.
func convergence(ivs []interval, from int, budget, tol float64) (settled int, overshoot, mean, worst float64) {
	settled = -1
	ratio := func(i int) float64 { return float64(ivs[i].sampled) / budget }
	for i := from; i < len(ivs); i++ {
		overshoot = max(overshoot, ratio(i)-1)
		if settled < 0 && i+2 < len(ivs) &&
			math.Abs(ratio(i)-1) <= tol && math.Abs(ratio(i+1)-1) <= tol && math.Abs(ratio(i+2)-1) <= tol {
			settled = i
		}
	}
	if settled < 0 {
		return settled, overshoot, 0, 0
	}
	for i := settled; i < len(ivs); i++ {
		mean += ratio(i)
		worst = max(worst, math.Abs(ratio(i)-1))
	}
	return settled, overshoot, mean / float64(len(ivs)-settled), worst
}

func logIntervals(t testing.TB, ivs []interval) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%4s %8s %8s %10s %7s %s\n", "t/s", "arrived", "sampled", "p", "errEst", "boosted")
	for i, iv := range ivs {
		fmt.Fprintf(&b, "%4d %8d %8d %10.6f %7.4f %v\n", i, iv.arrivals, iv.sampled, iv.p, iv.stats.ErrorRatio, iv.stats.Boosted)
	}
	t.Logf("seed %d\n%s", *simSeed, b.String())
}

const (
	simBudget = 1000.0 // sampled spans per second
	simBase   = 10_000 // root spans per second before and after steps
	simTol    = 0.10   // sampled/s must be within ±10% of the budget...
	simSettle = 3      // ...within this many intervals of a step
)

func TestSimulationTrafficShapes(t *testing.T) {
	const stepAt = 15 * time.Second
	shapes := []shape{
		{"steady 10k/s", 40 * time.Second, constant(simBase), constant(0), 0},
		{"10x step up", 40 * time.Second, step(simBase, 10*simBase, stepAt), constant(0), 0},
		{"10x step down", 40 * time.Second, step(10*simBase, simBase, stepAt), constant(0), 0},
		{"steady 1k/s", 40 * time.Second, constant(simBase / 10), constant(0), 0},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| shape | budget | converged after (3 in a row within ±10%%) | worst overshoot from the step (or start) | mean after | worst interval after |\n|---|---|---|---|---|---|\n")
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			budget := simBudget
			if sh.name == "steady 1k/s" {
				budget = simBudget / 10 // same 10:1 ratio, 10x fewer samples
			}
			ivs := simulate(t, sh, sampler.WithBudget(budget))
			checkBounds(t, ivs, sampler.DefaultFloor, sampler.DefaultCeiling)
			from := 0
			if strings.Contains(sh.name, "step") {
				from = int(stepAt / simInterval)
			}
			tol := simTol
			if budget < simBudget {
				// 100 samples an interval: Poisson noise alone is ±10% (1σ),
				// so judge this shape over 5-interval windows instead.
				ivs = windows(ivs, 5)
				from, budget = from/5, budget*5
			}
			settled, overshoot, mean, worst := convergence(ivs, from, budget, tol)
			unit, perSecond := "intervals", budget
			if budget != simBudget {
				unit, perSecond = "5-interval windows", budget/5
			}
			fmt.Fprintf(&table, "| %s | %g/s | %d %s | %+.0f%% | %+.1f%% | ±%.1f%% |\n",
				sh.name, perSecond, settled-from, unit, 100*overshoot, 100*(mean-1), 100*worst)
			// Three intervals in a row within ±10% within three intervals
			// of the step; then on average within ±3%, and no interval
			// beyond ±15% (Poisson noise alone is ±3.2% at 1,000 samples).
			if settled < 0 || settled-from > simSettle || math.Abs(mean-1) > 0.03 || worst > 0.15 {
				logIntervals(t, ivs)
				t.Fatalf("settled at %d (step at %d), mean %.3f, worst deviation %.3f of the budget",
					settled, from, mean, worst)
			}
		})
	}
	t.Logf("seed %d\n%s", *simSeed, table.String())
}

// windows sums intervals in groups of n.
func windows(ivs []interval, n int) []interval {
	out := make([]interval, len(ivs)/n)
	for i := range out {
		for _, iv := range ivs[i*n : (i+1)*n] {
			out[i].arrivals += iv.arrivals
			out[i].sampled += iv.sampled
		}
		out[i].p = ivs[(i+1)*n-1].p
	}
	return out
}

func TestSimulationErrorBurstBoostsThenReturns(t *testing.T) {
	const start, end = 15 * time.Second, 25 * time.Second
	sh := shape{"5% error burst", 40 * time.Second, constant(simBase), window(0.001, 0.05, start, end), 0}
	ivs := simulate(t, sh, sampler.WithBudget(simBudget), sampler.WithErrorBoost(0.02, 4))
	checkBounds(t, ivs, sampler.DefaultFloor, sampler.DefaultCeiling)
	base := simBudget / simBase
	before := ivs[int(start/simInterval)-1].p
	if math.Abs(before/base-1) > 0.1 {
		logIntervals(t, ivs)
		t.Fatalf("probability before the burst %g, want about %g", before, base)
	}
	// Adjustments fall one interval apart: the first one that sees a full
	// interval of the burst turns the boost on, so the probability is up
	// by the end of the interval after the one the burst began in.
	first := int(start/simInterval) + 1
	if p := ivs[first].p; p < 3*base {
		logIntervals(t, ivs)
		t.Fatalf("probability one interval into the burst %g, want about 4x %g", p, base)
	}
	for i := first; i < int(end/simInterval); i++ {
		if !ivs[i].stats.Boosted {
			logIntervals(t, ivs)
			t.Fatalf("boost off at interval %d, inside the burst", i)
		}
	}
	// It returns to the base within a few intervals of the burst's end.
	back := -1
	for i := int(end / simInterval); i < len(ivs); i++ {
		if math.Abs(ivs[i].p/base-1) <= 0.1 {
			back = i
			break
		}
	}
	if back < 0 || back-int(end/simInterval) > 8 {
		logIntervals(t, ivs)
		t.Fatalf("probability did not return to %g within 8 intervals of the burst's end (back at %d)", base, back)
	}
	t.Logf("seed %d: error burst: boosted within 1 interval (p %.4f -> %.4f), back to base %d intervals after it ended",
		*simSeed, before, ivs[first].p, back-int(end/simInterval))
}

// TestSimulationErrorRatioUnbiasedAtOnePercent checks the estimate against
// the true error ratio. At 1% of 100k/s, an interval samples ~1,000 roots
// and ~50 errors; the estimate averages ~9 intervals (sd ~5%), so ±20% is
// a 4σ band. (Swept over -sim.seed 1-40: seed 16 misses, its sample
// itself holding 3.7σ more errors than the truth in its first 6
// intervals, and seed 17 by 0.2% at one interval. Across all simulations
// in the sweep, seed 33 also settles a 10x step in 4 intervals, not 3.)
func TestSimulationErrorRatioUnbiasedAtOnePercent(t *testing.T) {
	const truth = 0.05
	tests := []struct {
		name string
		sh   shape
		opts []sampler.Option
	}{
		{"fixed p=0.01", shape{"", 30 * time.Second, constant(100_000), constant(truth), 0},
			[]sampler.Option{sampler.WithFloor(0.01), sampler.WithCeiling(0.01)}},
		// The probability swings from 0.1 to 0.01 and back while the error
		// ratio holds: weighting by adjusted count keeps the estimate true.
		{"p moving 0.1-0.01", shape{"", 30 * time.Second, window(10_000, 100_000, 10*time.Second, 20*time.Second), constant(truth), 0},
			[]sampler.Option{sampler.WithBudget(1000), sampler.WithErrorBoost(0.5, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ivs := simulate(t, tt.sh, tt.opts...)
			worst := 0.0
			for i := 5; i < len(ivs); i++ {
				got := ivs[i].stats.ErrorRatio
				worst = max(worst, math.Abs(got/truth-1))
				if math.Abs(got/truth-1) > 0.2 {
					logIntervals(t, ivs)
					t.Fatalf("interval %d: error ratio estimate %.4f, truth %.4f (more than ±20%%)", i, got, truth)
				}
			}
			t.Logf("seed %d: %s: worst error-ratio estimate %.1f%% off truth after 5 intervals", *simSeed, tt.name, 100*worst)
		})
	}
}

func TestSimulationHardCap(t *testing.T) {
	sh := shape{"cap", 20 * time.Second, constant(simBase), constant(0), 0}
	ivs := simulate(t, sh, sampler.WithBudget(simBudget), sampler.WithMaxTracesPerSecond(200))
	for i := 1; i < len(ivs); i++ {
		// A bucket of 20 tokens on top of 200/s.
		if ivs[i].sampled > 220 {
			logIntervals(t, ivs)
			t.Fatalf("interval %d sampled %d roots, over the cap of 200/s", i, ivs[i].sampled)
		}
	}
	// The probability follows the cap (at 0.9 of it), so the token bucket
	// clips the first tenth of a second and then only bursts, and the
	// written thresholds stay true: p near 180/10k, arrivals near 10k/s.
	last := ivs[len(ivs)-1].stats
	// (About 180 samples an interval: ±7.5% noise per interval, ~4% smoothed.)
	if last.Capped == 0 || math.Abs(last.Probability/0.018-1) > 0.2 || math.Abs(last.SpansPerSecond/simBase-1) > 0.2 {
		logIntervals(t, ivs)
		t.Errorf("with a cap of 200/s at 10k/s: %+v, want p about 0.018 and about 10k spans/s", last)
	}
	if last.Capped > 1500 {
		logIntervals(t, ivs)
		t.Errorf("the cap refused %d roots: it should only clip the start and rare bursts", last.Capped)
	}
}

func TestSimulationFairnessKeepsRareNames(t *testing.T) {
	// 10k/s of a hot name and 10/s of a rare one, budget 1,000/s: without
	// fairness the rare name gets about 1 sampled trace a second; with a
	// minimum of 5 per name it gets about 5, and the total still holds.
	sh := shape{"hot and rare", 40 * time.Second, constant(simBase + 10), constant(0), (simBase + 10) / 10}
	rare := func(ivs []interval) (perSecond float64) {
		n := 0
		for _, iv := range ivs[10:] {
			n += iv.rareSampled
		}
		return float64(n) / float64(len(ivs)-10)
	}
	plain := simulate(t, sh, sampler.WithBudget(simBudget))
	fair := simulate(t, sh, sampler.WithBudget(simBudget), sampler.WithFairness(5))
	checkBounds(t, fair, sampler.DefaultFloor, sampler.DefaultCeiling)
	if got := rare(plain); got > 2 {
		t.Errorf("without fairness the rare name got %.1f sampled/s, want about 1", got)
	}
	if got := rare(fair); math.Abs(got/5-1) > 0.25 {
		logIntervals(t, fair)
		t.Errorf("with fairness the rare name got %.1f sampled/s, want about 5", got)
	}
	_, _, mean, _ := convergence(fair, 10, simBudget, simTol)
	if math.Abs(mean-1) > 0.05 {
		logIntervals(t, fair)
		t.Errorf("with fairness, sampled/budget averages %.3f after 10 s, want 1 ± 5%%", mean)
	}
	t.Logf("seed %d: rare name sampled %.1f/s without fairness, %.1f/s with a minimum of 5; total %.1f%% of budget",
		*simSeed, rare(plain), rare(fair), 100*mean)
}
