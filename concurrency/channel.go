package concurrency

import (
	"context"
	"fmt"
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
// an unbuffered one); WithName names it in spans. It returns
// ErrInvalidSize for a capacity outside [0, 1<<20] (a make(chan) of it
// would panic or take gigabytes), and a *panics.Error if the
// TracerProvider panics.
func NewTracedChannel[T any](capacity int, opts ...Option) (*TracedChannel[T], error) {
	if capacity < 0 || capacity > maxCapacity {
		return nil, fmt.Errorf("%w: channel capacity %d outside [0, %d]", ErrInvalidSize, capacity, maxCapacity)
	}
	cfg := newConfig("channel", opts)
	tr, err := safeTracerOf(&cfg)
	if err != nil {
		return nil, err
	}
	return &TracedChannel[T]{
		ch:      make(chan envelope[T], capacity),
		cfg:     cfg,
		tracer:  tr,
		attrs:   []attribute.KeyValue{semconv.MessagingSystemKey.String("go_channel"), semconv.MessagingDestinationName(cfg.name)},
		closing: make(chan struct{}),
		sealed:  make(chan struct{}),
	}, nil
}

// Send sends v with the span context of ctx, waiting while the channel is
// full. It returns ErrClosed once Close has been called, or ctx's error
// if ctx ends first. With WithItemSpans, a TracerProvider that panics
// starting the send's span is Send's error, a *panics.Error, and v is
// not sent. A nil ctx panics ("concurrency: nil Context").
func (c *TracedChannel[T]) Send(ctx context.Context, v T) error {
	mustContext(ctx)
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
		var err error
		ctx, span, err = startSpan(ctx, c.tracer, "send "+c.cfg.name, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(append(c.attrs, semconv.MessagingOperationTypeSend)...))
		if err != nil {
			return err
		}
		defer endSpan(span)
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
// trace.WithLinks(trace.Link{SpanContext: sc}), or, to process this one
// value in its sender's trace, start the processing span from
// trace.ContextWithSpanContext(ctx, sc) with a link to ctx's span, if any
// (see # Traces in the package doc). With WithItemSpans, the receive's
// span is a child of ctx's span linked to the send, made under panics; a
// panic there is dropped, since the value is already taken and is
// returned. A nil ctx panics ("concurrency: nil Context").
func (c *TracedChannel[T]) Receive(ctx context.Context) (T, trace.SpanContext, error) {
	mustContext(ctx)
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
		if _, span, err := startSpan(ctx, c.tracer, "receive "+c.cfg.name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithLinks(trace.Link{SpanContext: e.sc}),
			trace.WithAttributes(append(c.attrs, semconv.MessagingOperationTypeReceive)...)); err == nil {
			endSpan(span)
		}
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
