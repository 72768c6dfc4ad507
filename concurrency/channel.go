package concurrency

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracedChannel is a bounded channel whose values carry the span context
// they were sent in, so that the receiving side can continue the trace
// (link to it, as the messaging semantic conventions ask of consumers).
// With WithItemSpans, each send is a producer span and each receive a
// consumer span linked to it ("send <name>", "receive <name>",
// messaging.system "go_channel").
//
// Send and Receive honour their contexts. Close stops sends; receivers
// still get every value sent before it, then ErrClosed. A TracedChannel
// is safe for concurrent use by multiple goroutines and must not be copied
// after first use. The zero TracedChannel is closed: Send and Receive
// return ErrClosed; use NewTracedChannel.
type TracedChannel[T any] struct {
	ch     chan envelope[T]
	cfg    config
	tracer trace.Tracer
	attrs  []attribute.KeyValue

	mu       sync.RWMutex  // senders hold it shared; Close exclusively
	closed   bool          // guarded by mu
	closing  chan struct{} // closed first by Close: wakes blocked senders
	sealed   chan struct{} // closed once no send can be in flight
	closeOne sync.Once
}

type envelope[T any] struct {
	v  T
	sc trace.SpanContext
}

// NewTracedChannel returns a channel holding up to capacity values (0 for
// an unbuffered one); WithName names it in spans.
func NewTracedChannel[T any](capacity int, opts ...Option) *TracedChannel[T] {
	cfg := newConfig("channel", opts)
	return &TracedChannel[T]{
		ch:      make(chan envelope[T], max(capacity, 0)),
		cfg:     cfg,
		tracer:  tracerOf(&cfg),
		attrs:   []attribute.KeyValue{semconv.MessagingSystemKey.String("go_channel"), semconv.MessagingDestinationName(cfg.name)},
		closing: make(chan struct{}),
		sealed:  make(chan struct{}),
	}
}

// Send sends v with the span context of ctx, waiting while the channel is
// full. It returns ErrClosed once Close has been called, or ctx's error
// if ctx ends first.
func (c *TracedChannel[T]) Send(ctx context.Context, v T) error {
	if c.ch == nil && c.closing == nil {
		return ErrClosed // the zero TracedChannel
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	sc := trace.SpanContextFromContext(ctx)
	var span trace.Span
	if c.cfg.itemSpans {
		ctx, span = c.tracer.Start(ctx, "send "+c.cfg.name, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(append(c.attrs, semconv.MessagingOperationTypeSend)...))
		defer span.End()
		sc = span.SpanContext()
	}
	select {
	case c.ch <- envelope[T]{v, sc}:
		return nil
	case <-c.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive returns the next value and the span context it was sent in (or
// the send's producer span), waiting while the channel is empty. It
// returns ErrClosed once the channel is closed and empty, or ctx's error
// if ctx ends first. Link to the sender's span with
// trace.WithLinks(trace.Link{SpanContext: sc}).
func (c *TracedChannel[T]) Receive(ctx context.Context) (T, trace.SpanContext, error) {
	var e envelope[T]
	if c.sealed == nil {
		return e.v, e.sc, ErrClosed // the zero TracedChannel
	}
	select {
	case e = <-c.ch:
	case <-ctx.Done():
		return e.v, e.sc, ctx.Err()
	case <-c.sealed:
		select { // values sent before Close are still delivered
		case e = <-c.ch:
		default:
			return e.v, e.sc, ErrClosed
		}
	}
	if c.cfg.itemSpans {
		_, span := c.tracer.Start(ctx, "receive "+c.cfg.name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithLinks(trace.Link{SpanContext: e.sc}),
			trace.WithAttributes(append(c.attrs, semconv.MessagingOperationTypeReceive)...))
		span.End()
	}
	return e.v, e.sc, nil
}

// Close stops sends: senders waiting for room return ErrClosed, and so
// does every later Send. Values already sent stay to be received. Close
// may be called more than once.
func (c *TracedChannel[T]) Close() {
	if c.closing == nil {
		return // the zero TracedChannel: already closed
	}
	c.closeOne.Do(func() {
		close(c.closing)
		c.mu.Lock() // waits for sends in flight to finish
		c.closed = true
		c.mu.Unlock()
		close(c.sealed)
	})
}

// Len returns how many values wait to be received.
func (c *TracedChannel[T]) Len() int { return len(c.ch) }
