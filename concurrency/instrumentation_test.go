package concurrency_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/concurrency"
)

// TestPoolTelemetry checks one span per Run (none per task by default)
// and metrics that agree with the work done.
func TestPoolTelemetry(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) })

	p := newPool(t, 3, func(_ context.Context, x int) (int, error) {
		if x == 7 {
			return 0, errOdd
		}
		return x, nil
	}, concurrency.WithTracerProvider(tp), concurrency.WithMeterProvider(mp), concurrency.WithName("quotes"), concurrency.WithCollectAll(true))
	in := make([]int, 100)
	for i := range in {
		in[i] = i
	}
	if _, err := p.Run(ctx, in); err == nil {
		t.Fatal("the failing task's error is missing")
	}
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Name() != "concurrency.pool.run" {
		t.Fatalf("%d spans for a run of 100 tasks", len(spans))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int64{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Histogram[float64]:
			seen[m.Name] = int64(d.DataPoints[0].Count)
		case metricdata.Sum[int64]:
			seen[m.Name] = d.DataPoints[0].Value
		case metricdata.Gauge[int64]:
			seen[m.Name] = d.DataPoints[0].Value + 1000 // present (0 after the run)
		}
	}
	if seen["concurrency.pool.task.duration"] != 100 || seen["concurrency.pool.task.errors"] != 1 ||
		seen["concurrency.pool.queue.depth"] != 1000 || seen["concurrency.pool.inflight"] != 1000 {
		t.Fatalf("metrics %v", seen)
	}

	// Item spans on: one per task, each the root of a trace of its own
	// linked to the run (it was the run's child; see # Traces).
	rec2 := tracetest.NewSpanRecorder()
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec2))
	p2 := newPool(t, 2, func(_ context.Context, x int) (int, error) { return x, nil },
		concurrency.WithTracerProvider(tp2), concurrency.WithItemSpans(true))
	if _, err := p2.Run(ctx, in[:10]); err != nil {
		t.Fatal(err)
	}
	ended := rec2.Ended()
	if n := len(ended); n != 11 {
		t.Fatalf("%d spans with item spans, want 10 tasks and the run", n)
	}
	run := ended[len(ended)-1] // the run ends last
	traces := map[trace.TraceID]bool{}
	for _, s := range ended[:10] {
		if s.Name() != "concurrency.pool.task" || s.Parent().IsValid() || len(s.Links()) != 1 ||
			s.Links()[0].SpanContext.SpanID() != run.SpanContext().SpanID() {
			t.Fatalf("task span %q: parent %v, links %v; want a root linked to the run", s.Name(), s.Parent(), s.Links())
		}
		traces[s.SpanContext().TraceID()] = true
	}
	if run.Name() != "concurrency.pool.run" || len(traces) != 10 || traces[run.SpanContext().TraceID()] {
		t.Fatalf("run span %q; %d task traces apart from it, want 10", run.Name(), len(traces))
	}
}
