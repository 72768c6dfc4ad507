package concurrency_test

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/concurrency"
)

// benchProviders are the TracerProviders the benchmarks run under: none
// (the API's no-op), an SDK that samples nothing, and one that records
// every span (and exports none: what is measured is making them).
func benchProviders(b *testing.B) map[string]trace.TracerProvider {
	never := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	always := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() { _ = never.Shutdown(context.Background()); _ = always.Shutdown(context.Background()) })
	return map[string]trace.TracerProvider{"noop": nil, "sdk-never": never, "sdk-always": always}
}

// BenchmarkWorkerPoolRun runs b.N tiny tasks in one Run on 4 workers;
// ns/op is per task. items=true gives every task a span of its own (a
// trace of its own, linked to the run's span).
func BenchmarkWorkerPoolRun(b *testing.B) {
	ctx := context.Background()
	for _, otel := range []string{"noop", "sdk-never", "sdk-always"} {
		for _, items := range []bool{false, true} {
			b.Run(fmt.Sprintf("otel=%s/items=%v", otel, items), func(b *testing.B) {
				opts := []concurrency.Option{concurrency.WithItemSpans(items)}
				if tp := benchProviders(b)[otel]; tp != nil {
					opts = append(opts, concurrency.WithTracerProvider(tp))
				}
				p, err := concurrency.NewWorkerPool(4, func(_ context.Context, x int) (int, error) { return x * x, nil }, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer p.Shutdown(ctx)
				in := make([]int, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				if _, err := p.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkRunPipeline feeds b.N values through two stages of 2 workers
// each; ns/op is per value. items=true gives every value a span per stage
// (a trace of its own per value, linked to the run's span).
func BenchmarkRunPipeline(b *testing.B) {
	ctx := context.Background()
	double, err := concurrency.NewStage("double", 2, func(_ context.Context, x int) (int, error) { return 2 * x, nil })
	if err != nil {
		b.Fatal(err)
	}
	stages := concurrency.Then(double, double)
	for _, otel := range []string{"noop", "sdk-never", "sdk-always"} {
		for _, items := range []bool{false, true} {
			b.Run(fmt.Sprintf("otel=%s/items=%v", otel, items), func(b *testing.B) {
				opts := []concurrency.Option{concurrency.WithItemSpans(items)}
				if tp := benchProviders(b)[otel]; tp != nil {
					opts = append(opts, concurrency.WithTracerProvider(tp))
				}
				sum := 0
				b.ReportAllocs()
				b.ResetTimer()
				err := concurrency.RunPipeline(ctx, count(b.N), stages, func(_ context.Context, x int) error { sum += x; return nil }, opts...)
				if err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
