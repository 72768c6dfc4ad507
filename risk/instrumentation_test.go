package risk_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/risk"
)

// TestRejectionTelemetry checks that an allowed order records nothing, and
// a rejection an event on the caller's span and a count by rule and
// reason; with WithCheckSpans, each check is a child span.
func TestRejectionTelemetry(t *testing.T) {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) })

	e := newEngine(t, risk.Config{MaxOrderQty: 10}, risk.WithMeterProvider(mp), risk.WithTracerProvider(tp))
	ctx, span := tp.Tracer("test").Start(ctx, "place order")
	e.Check(ctx, order("a", 5, 1))
	e.Check(ctx, order("a", 11, 1))
	e.Check(ctx, order("a", 12, 1))
	span.End()

	ended := spans.Ended()
	if len(ended) != 1 || len(ended[0].Events()) != 2 {
		t.Fatalf("want one span with two rejection events, got %d spans", len(ended))
	}
	ev := ended[0].Events()[0]
	got := map[attribute.Key]string{}
	for _, kv := range ev.Attributes {
		got[kv.Key] = kv.Value.String()
	}
	if ev.Name != "risk.rejected" || got["risk.rule"] != "max-quantity" || got["risk.reason"] != "quantity over limit" || got["risk.account"] != "a" {
		t.Fatalf("event %s %v", ev.Name, got)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sum := rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.Sum[int64])
	if rm.ScopeMetrics[0].Scope.Name != "github.com/otlpgo/otlpgo/risk" || len(sum.DataPoints) != 1 || sum.DataPoints[0].Value != 2 {
		t.Fatalf("risk.rejections: %+v", sum.DataPoints)
	}

	// With check spans on, each check is a child of the caller's span.
	spans2 := tracetest.NewSpanRecorder()
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans2))
	e2 := newEngine(t, risk.Config{}, risk.WithCheckSpans(true), risk.WithTracerProvider(tp2))
	e2.Check(context.Background(), order("a", 1, 1))
	if s := spans2.Ended(); len(s) != 1 || s[0].Name() != "risk.check" {
		t.Fatalf("check spans: %d", len(s))
	}
}

// TestAllowedCheckDoesNotAllocate pins the allowed path at zero
// allocations with telemetry off (no SDK) and every rule on.
func TestAllowedCheckDoesNotAllocate(t *testing.T) {
	e := newEngine(t, allRulesConfig(), risk.WithTracerProvider(noop.NewTracerProvider()))
	e.SetReferencePrice("ESZ6", 5_000)
	ctx := context.Background()
	id := uint64(1 << 50)
	allocs := testing.AllocsPerRun(1000, func() {
		id++
		o := risk.Order{ID: id, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 5_000, Qty: 3}
		if !e.Check(ctx, o).Allowed {
			t.Fatal("rejected")
		}
		if err := e.Release(id); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per allowed check and release", allocs)
	}
}
