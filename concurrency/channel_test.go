package concurrency_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/concurrency"
)

func TestTracedChannelCarriesTheSpanContext(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("test").Start(context.Background(), "produce")
	c := must(concurrency.NewTracedChannel[string](4))
	if err := c.Send(ctx, "order 1"); err != nil {
		t.Fatal(err)
	}
	span.End()
	v, sc, err := c.Receive(context.Background())
	if err != nil || v != "order 1" || sc.TraceID() != span.SpanContext().TraceID() || sc.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("Receive = %q, %v, %v", v, sc, err)
	}

	// With item spans: a producer span per send, a consumer span per
	// receive linked to it.
	rec2 := tracetest.NewSpanRecorder()
	tp2 := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec2))
	c2 := must(concurrency.NewTracedChannel[int](1, concurrency.WithItemSpans(true), concurrency.WithTracerProvider(tp2), concurrency.WithName("orders")))
	if err := c2.Send(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	_, sc, _ = c2.Receive(context.Background())
	spans := rec2.Ended()
	if len(spans) != 2 || spans[0].Name() != "send orders" || spans[0].SpanKind() != trace.SpanKindProducer ||
		spans[1].Name() != "receive orders" || spans[1].SpanKind() != trace.SpanKindConsumer ||
		len(spans[1].Links()) != 1 || spans[1].Links()[0].SpanContext.SpanID() != spans[0].SpanContext().SpanID() ||
		sc.SpanID() != spans[0].SpanContext().SpanID() {
		t.Fatalf("item spans wrong: %d spans", len(spans))
	}
}

func TestTracedChannelClose(t *testing.T) {
	ctx := context.Background()
	c := must(concurrency.NewTracedChannel[int](2))
	_ = c.Send(ctx, 1)
	_ = c.Send(ctx, 2)
	// A sender blocked on the full channel is released by Close.
	blocked := make(chan error)
	go func() { blocked <- c.Send(ctx, 3) }() // blocks on the full channel, or finds it closed
	c.Close()
	c.Close() // twice is fine
	if err := <-blocked; !errors.Is(err, concurrency.ErrClosed) {
		t.Fatalf("blocked Send after Close: %v", err)
	}
	if err := c.Send(ctx, 4); !errors.Is(err, concurrency.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	for want := 1; want <= 2; want++ {
		if v, _, err := c.Receive(ctx); v != want || err != nil {
			t.Fatalf("Receive after Close = %d, %v; want %d", v, err, want)
		}
	}
	if _, _, err := c.Receive(ctx); !errors.Is(err, concurrency.ErrClosed) {
		t.Fatalf("Receive when closed and empty: %v", err)
	}
	// Contexts end waits.
	c2 := must(concurrency.NewTracedChannel[int](0))
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, _, err := c2.Receive(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive on an empty channel: %v", err)
	}
	if err := c2.Send(tctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with no receiver: %v", err)
	}
}

// TestTracedChannelConcurrentSafe races senders, receivers and Close,
// and requires every value whose Send succeeded to be received exactly
// once.
func TestTracedChannelConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	c := must(concurrency.NewTracedChannel[int](8))
	var sent, received atomic.Int64
	var sendSum, recvSum atomic.Int64
	var senders, receivers sync.WaitGroup
	for g := range 4 {
		senders.Go(func() {
			for i := 1; ; i++ {
				v := g*1_000_000 + i
				if err := c.Send(ctx, v); err != nil {
					return
				}
				sent.Add(1)
				sendSum.Add(int64(v))
			}
		})
		receivers.Go(func() {
			for {
				v, _, err := c.Receive(ctx)
				if err != nil {
					return
				}
				received.Add(1)
				recvSum.Add(int64(v))
			}
		})
	}
	for received.Load() < 1000 {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	senders.Wait()
	receivers.Wait()
	if sent.Load() != received.Load() || sendSum.Load() != recvSum.Load() {
		t.Fatalf("sent %d (sum %d), received %d (sum %d)", sent.Load(), sendSum.Load(), received.Load(), recvSum.Load())
	}
}
