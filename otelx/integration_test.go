package otelx_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/internal/collectortest"
	"github.com/otlpgo/otlpgo/otelx"
)

// These tests export over OTLP/HTTP to a real OpenTelemetry Collector on
// 127.0.0.1 (see internal/collectortest). They skip when none is available
// locally; CI always provides one.

// waitCtx bounds a wait for a condition; it is not a timing assertion.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCollectorReceivesSpansAndMetrics(t *testing.T) {
	col := collectortest.Start(t)
	ctx := context.Background()
	tel, err := otelx.Setup(ctx, otelx.WithGlobal(false), otelx.WithEndpoint(col.Endpoint()),
		otelx.WithServiceName("integration"), otelx.WithServiceVersion("0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	tracer := tel.TracerProvider().Tracer("github.com/otlpgo/otlpgo/otelx/test")
	counter, err := tel.MeterProvider().Meter("github.com/otlpgo/otlpgo/otelx/test").Int64Counter("test.orders")
	if err != nil {
		t.Fatal(err)
	}
	pctx, parent := tracer.Start(ctx, "parent")
	_, child := tracer.Start(pctx, "child")
	counter.Add(ctx, 3)
	child.End()
	parent.End()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got, ok := col.WaitFor(waitCtx(t), func(r collectortest.Received) bool {
		return len(r.Spans) >= 2 && len(r.Metrics) >= 1
	})
	if !ok {
		t.Fatalf("collector received %d spans and %d metrics, want 2 and 1\n%s", len(got.Spans), len(got.Metrics), col.Log())
	}
	names := map[string]bool{}
	for _, s := range got.Spans {
		names[s.Name] = true
		if s.TraceID != parent.SpanContext().TraceID().String() {
			t.Errorf("span %s in trace %s, want %s", s.Name, s.TraceID, parent.SpanContext().TraceID())
		}
		if s.Resource["service.name"] != "integration" || s.Resource["service.version"] != "0.0.1" || s.Resource["host.name"] == "" {
			t.Errorf("span %s resource %v", s.Name, s.Resource)
		}
	}
	if !names["parent"] || !names["child"] {
		t.Errorf("span names %v, want parent and child", names)
	}
	if m := got.Metrics[0]; m.Name != "test.orders" || m.Resource["service.name"] != "integration" {
		t.Errorf("metric %+v", m)
	}
	h := tel.Health()
	if h.Traces.SpansExported != 2 || h.Traces.ConsecutiveFailures != 0 || h.Metrics.Exports == 0 {
		t.Errorf("health after export: %+v", h)
	}
}

func TestCollectorOutageAndRecovery(t *testing.T) {
	col := collectortest.Start(t)
	ctx := context.Background()
	tel, err := otelx.Setup(ctx, otelx.WithGlobal(false), otelx.WithEndpoint(col.Endpoint()),
		otelx.WithServiceName("outage"), otelx.WithMaxQueueSize(256),
		// Every span is sampled: this test is about the export path.
		otelx.WithSampler(sdktrace.AlwaysSample()),
		otelx.WithBatchTimeout(50*time.Millisecond), otelx.WithExportTimeout(2*time.Second),
		otelx.WithMetricInterval(time.Hour), otelx.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	tracer := tel.TracerProvider().Tracer("outage")
	burst := func(n int) {
		for range n {
			_, s := tracer.Start(ctx, "work")
			s.End()
		}
	}

	burst(10)
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush with the collector up: %v", err)
	}
	if h := tel.Health(); h.Status != otelx.StatusHealthy {
		t.Fatalf("before the outage: %+v", h)
	}

	col.Stop()
	// The application keeps running: spans are made and ended at full speed
	// while exports fail, and health turns failing.
	ok := waitUntil(waitCtx(t), func() bool {
		burst(10)
		_ = tel.ForceFlush(ctx)
		return tel.Health().Status == otelx.StatusFailing
	})
	h := tel.Health()
	if !ok {
		t.Fatalf("health never turned failing with the collector down: %+v", h)
	}
	if h.Traces.LastError == "" || h.Traces.SpansFailed == 0 {
		t.Errorf("failing health without an error or failed spans: %+v", h.Traces)
	}

	// Memory stays bounded: many more spans than the queue holds cost no
	// more heap than a few hundred spans' worth.
	before := heapInUse()
	burst(20_000)
	after := heapInUse()
	if grow := int64(after) - int64(before); grow > 16<<20 {
		t.Errorf("heap grew by %d bytes over 20000 spans during the outage", grow)
	}
	t.Logf("heap in use %d -> %d bytes over 20000 spans during the outage; dropped %d",
		before, after, tel.Health().Traces.SpansDropped)

	col.Start()
	ok = waitUntil(waitCtx(t), func() bool {
		burst(1)
		return tel.ForceFlush(ctx) == nil && tel.Health().Status == otelx.StatusHealthy
	})
	if !ok {
		t.Fatalf("health did not recover with the collector back: %+v", tel.Health())
	}
	_, afterSpan := tracer.Start(ctx, "after-outage")
	afterSpan.End()
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := col.WaitFor(waitCtx(t), func(r collectortest.Received) bool {
		return slices.ContainsFunc(r.Spans, func(s collectortest.Span) bool { return s.Name == "after-outage" })
	}); !ok {
		t.Error("the span sent after the collector came back did not reach it")
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkInvariants(t, tel.Health(), true)
}

// waitUntil calls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) bool {
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
