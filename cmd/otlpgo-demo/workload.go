package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const scope = "github.com/otlpgo/otlpgo/cmd/otlpgo-demo"

// The simulated risk limit: larger orders are rejected. It is tightened in
// the last phase, which rejects about a fifth of orders.
const (
	maxQuantity   = 990
	tightQuantity = 800
)

var errOverLimit = errors.New("quantity over the per-order limit")

// workload is the simulated order flow. It is safe for concurrent use.
type workload struct {
	tracer   trace.Tracer
	orders   atomic.Int64
	filled   atomic.Int64
	rejected atomic.Int64
	outcome  metric.Int64Counter
	latency  metric.Float64Histogram
	// Precomputed attribute sets: no allocation per order for metrics.
	filledAttrs, rejectedAttrs metric.MeasurementOption
}

func newWorkload(tp trace.TracerProvider, mp metric.MeterProvider) (*workload, error) {
	meter := mp.Meter(scope)
	outcome, err := meter.Int64Counter("demo.orders", metric.WithUnit("{order}"),
		metric.WithDescription("Orders placed, by outcome."))
	if err != nil {
		return nil, err
	}
	latency, err := meter.Float64Histogram("demo.order.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to place an order."))
	if err != nil {
		return nil, err
	}
	return &workload{
		tracer:        tp.Tracer(scope),
		outcome:       outcome,
		latency:       latency,
		filledAttrs:   metric.WithAttributeSet(attribute.NewSet(attribute.String("demo.outcome", "filled"))),
		rejectedAttrs: metric.WithAttributeSet(attribute.NewSet(attribute.String("demo.outcome", "rejected"))),
	}, nil
}

// submitLoop places orders until ctx ends, pacing its share of the
// schedule's rate against absolute deadlines (so the average holds even
// when a sleep overshoots).
func (w *workload) submitLoop(ctx context.Context, seed uint64, s schedule, workers int) {
	rng := rand.New(rand.NewPCG(seed, 0x6f746c70676f))
	next := time.Now()
	for ctx.Err() == nil {
		now := time.Now()
		limit := maxQuantity
		if s.phase(now) == 2 {
			limit = tightQuantity
		}
		w.place(ctx, rng.IntN(1000)+1, 100+rng.IntN(20), limit)
		if r := s.rate(now); r > 0 {
			next = next.Add(time.Duration(workers) * time.Second / time.Duration(r))
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
	}
}

// place is one order: a server span with a risk check and a match as
// children.
func (w *workload) place(ctx context.Context, qty, price, limit int) {
	start := time.Now()
	ctx, span := w.tracer.Start(ctx, "order.place", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.Int("demo.order.quantity", qty), attribute.Int("demo.order.price", price)))
	defer span.End()
	w.orders.Add(1)
	// The run's deadline ends the workload, not the order in flight.
	ctx = context.WithoutCancel(ctx)

	if err := w.riskCheck(ctx, qty, limit); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		w.rejected.Add(1)
		w.outcome.Add(ctx, 1, w.rejectedAttrs)
		w.latency.Record(ctx, time.Since(start).Seconds(), w.rejectedAttrs)
		return
	}
	w.match(ctx, qty, price)
	w.filled.Add(1)
	w.outcome.Add(ctx, 1, w.filledAttrs)
	w.latency.Record(ctx, time.Since(start).Seconds(), w.filledAttrs)
}

func (w *workload) riskCheck(ctx context.Context, qty, limit int) error {
	_, span := w.tracer.Start(ctx, "risk.check")
	defer span.End()
	if qty > limit {
		span.SetStatus(codes.Error, errOverLimit.Error())
		return errOverLimit
	}
	return nil
}

// match simulates matching with a few microseconds of work.
func (w *workload) match(ctx context.Context, qty, price int) {
	_, span := w.tracer.Start(ctx, "book.match")
	defer span.End()
	h := uint64(price)
	for i := range 200 + qty {
		h = h*6364136223846793005 + uint64(i)
	}
	span.SetAttributes(attribute.Int64("demo.fill.id", int64(h>>1)))
}
