package sampler_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// Install the sampler in a TracerProvider: as its sampler, and as a span
// processor so it sees errors. Sampled spans carry the threshold they were
// sampled at (th:0 is probability 1, where a new sampler starts).
func Example() {
	ctx := context.Background()
	a := sampler.NewAdaptive(sampler.WithBudget(100)) // sampled spans per second
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(a),
		sdktrace.WithSpanProcessor(a),
		sdktrace.WithSpanProcessor(rec), // a real service adds its exporter here
	)
	defer tp.Shutdown(ctx)

	tracer := tp.Tracer("example.com/orders")
	ctx, span := tracer.Start(ctx, "GET /orders")
	_, query := tracer.Start(ctx, "SELECT orders")
	query.End()
	span.End()

	for _, s := range rec.Ended() {
		fmt.Println(s.Name(), s.SpanContext().TraceState())
	}
	fmt.Println("probability", a.Rate())
	// Output:
	// SELECT orders ot=th:0
	// GET /orders ot=th:0
	// probability 1
}

// Decisions are consistent across services: a service sampling at 25%
// keeps a subset of the traces a service sampling at 50% keeps, because
// both compare the same 56 bits of the trace ID with their thresholds, and
// each writes its threshold (th:c is 1/4, th:8 is 1/2) to the tracestate.
func ExampleAdaptive() {
	quarter := sampler.NewAdaptive(sampler.WithFloor(0.25), sampler.WithCeiling(0.25))
	half := sampler.NewAdaptive(sampler.WithFloor(0.5), sampler.WithCeiling(0.5))
	for _, randomness := range []uint64{0x10_0000_0000_0000, 0x90_0000_0000_0000, 0xd0_0000_0000_0000} {
		var id trace.TraceID
		binary.BigEndian.PutUint64(id[8:], randomness)
		p := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id}
		show := func(r sdktrace.SamplingResult) string {
			if r.Decision == sdktrace.RecordAndSample {
				return "keep " + r.Tracestate.String()
			}
			return "drop"
		}
		fmt.Printf("rv %014x: at 25%% %-15s at 50%% %s\n", randomness, show(quarter.ShouldSample(p)), show(half.ShouldSample(p)))
	}
	// Output:
	// rv 10000000000000: at 25% drop            at 50% drop
	// rv 90000000000000: at 25% drop            at 50% keep ot=th:8
	// rv d0000000000000: at 25% keep ot=th:c    at 50% keep ot=th:8
}

// Stats shows the sampler settling on its budget: 10,000 requests a
// second against a budget of 100 sampled spans a second brings the
// probability to about 1%. (A fake clock and seeded trace IDs make the
// run repeatable.)
func ExampleAdaptive_Stats() {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := sampler.NewAdaptive(sampler.WithBudget(100), sampler.WithClock(func() time.Time { return clock }))
	rng := rand.New(rand.NewPCG(1, 2))
	for second := 1; second <= 3; second++ {
		for range 10_000 {
			clock = clock.Add(100 * time.Microsecond)
			var id trace.TraceID
			binary.BigEndian.PutUint64(id[:8], rng.Uint64())
			binary.BigEndian.PutUint64(id[8:], rng.Uint64())
			a.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: id, Name: "GET /orders"})
		}
		st := a.Stats()
		fmt.Printf("after %ds: probability %.2f, ~%.0fk spans/s arriving\n", second, st.Probability, st.SpansPerSecond/1000)
	}
	// Output:
	// after 1s: probability 0.01, ~10k spans/s arriving
	// after 2s: probability 0.01, ~10k spans/s arriving
	// after 3s: probability 0.01, ~10k spans/s arriving
}

// The policy of the design notes this library started from — raise the
// probability 10x while more than 1% of requests fail, and sample 0.01% at
// 10k requests a second — as options. A budget of 1 sampled span a second
// is 0.01% at 10k spans/s; the sampler follows load on both sides of it
// rather than switching at a rate. The defaults (5% and 4x, budget 100)
// hold until a measurement favours the notes' policy.
func Example_seedPolicy() {
	a := sampler.NewAdaptive(
		sampler.WithErrorBoost(0.01, 10),
		sampler.WithBudget(1),
		sampler.WithFloor(1e-4),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
	defer tp.Shutdown(context.Background())
	fmt.Println(a.Description())
	// Output:
	// Adaptive{budget:1/s,floor:0.0001,ceiling:1,interval:1s,errorThreshold:0.01,errorBoost:10,parentBased:true}
}
