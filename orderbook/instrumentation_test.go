package orderbook_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/orderbook"
)

// TestEngineTelemetry checks one span per batch, never per order, whose
// command counts add up to the commands sent, and counters that agree
// with the events the engine reported.
func TestEngineTelemetry(t *testing.T) {
	ctx := context.Background()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(ctx); _ = mp.Shutdown(ctx) })

	var fills, rejects, submits int64
	e, err := orderbook.NewEngine(io.Discard, orderbook.WithTracerProvider(tp), orderbook.WithMeterProvider(mp),
		orderbook.WithBatchSize(100),
		orderbook.WithEventStream(func(r orderbook.Result) {
			if r.Command.Op == orderbook.OpSubmit {
				submits++
			}
			for _, ev := range r.Events {
				switch ev.Kind {
				case orderbook.Filled:
					fills++
				case orderbook.Rejected:
					rejects++
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	const commands = 5_000
	s := newCommandStream(5, 11)
	for range commands {
		if err := e.Send(ctx, s.next(), nil); err != nil {
			t.Fatal(err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil { // while running, for the gauge
		t.Fatal(err)
	}
	gauge := false
	for _, m := range rm.ScopeMetrics[0].Metrics {
		gauge = gauge || m.Name == "orderbook.queue.depth"
	}
	if !gauge {
		t.Error("no orderbook.queue.depth gauge while running")
	}
	shutdown(t, e)

	var inSpans int64
	ended := spans.Ended()
	for _, sp := range ended {
		if sp.Name() != "orderbook.batch" {
			t.Fatalf("span %q", sp.Name())
		}
		for _, kv := range sp.Attributes() {
			if kv.Key == "orderbook.batch.commands" {
				inSpans += kv.Value.AsInt64()
			}
		}
	}
	if inSpans != commands || len(ended) < commands/100 || len(ended) >= commands {
		t.Fatalf("%d spans covering %d commands; want one per batch of at most 100 covering %d", len(ended), inSpans, commands)
	}

	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/otlpgo/otlpgo/orderbook" || sm.Scope.Version == "" {
			t.Errorf("scope %+v", sm.Scope)
		}
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					sums[m.Name] += dp.Value
					if op, ok := dp.Attributes.Value(attribute.Key("orderbook.op")); ok && op.AsString() == "submit" {
						sums["submit"] += dp.Value
					}
				}
			}
		}
	}
	if sums["orderbook.commands"] != commands || sums["submit"] != submits || sums["orderbook.fills"] != fills || sums["orderbook.rejects"] != rejects {
		t.Fatalf("counters %v; want %d commands, %d submits, %d fills, %d rejects", sums, commands, submits, fills, rejects)
	}
	t.Logf("%d commands in %d batch spans; %d fills, %d rejects", commands, len(ended), fills, rejects)
}

// TestEngineTracesStayBounded: commands sent from callers' spans, through
// Do and Send, leave every trace as long as it was: each batch's span is
// the root of a trace of its own, one span long, and each caller's trace
// holds only the caller's span, whatever the number of commands (see
// # Traces in the package doc).
func TestEngineTracesStayBounded(t *testing.T) {
	for _, commands := range []int{100, 3_000} {
		t.Run(fmt.Sprintf("commands=%d", commands), func(t *testing.T) {
			ctx := context.Background()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(ctx) })
			e, err := orderbook.NewEngine(io.Discard, orderbook.WithTracerProvider(tp), orderbook.WithBatchSize(64))
			if err != nil {
				t.Fatal(err)
			}
			tracer := tp.Tracer("caller")
			var wg sync.WaitGroup
			for p := range 2 {
				wg.Go(func() {
					s := newCommandStream(uint64(p+1), 11)
					for i := range commands / 2 {
						cctx, span := tracer.Start(ctx, "order")
						var err error
						if i%2 == 0 {
							_, _, err = e.Do(cctx, s.next(), nil)
						} else {
							err = e.Send(cctx, s.next(), nil)
						}
						span.End()
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			shutdown(t, e)

			sizes := map[trace.TraceID]int{}
			batches := 0
			for _, s := range rec.Ended() {
				sizes[s.SpanContext().TraceID()]++
				if s.Name() == "orderbook.batch" {
					batches++
					if s.Parent().IsValid() {
						t.Fatalf("a batch span is a child of %v, want a root", s.Parent())
					}
				}
			}
			for id, n := range sizes {
				if n != 1 {
					t.Fatalf("trace %v has %d spans, want 1 (an order, or a batch)", id, n)
				}
			}
			if batches == 0 || len(sizes) != commands+batches {
				t.Fatalf("%d traces for %d orders and %d batches", len(sizes), commands, batches)
			}
		})
	}
}
