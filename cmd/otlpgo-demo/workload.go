package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/orderbook"
)

const scope = "github.com/otlpgo/otlpgo/cmd/otlpgo-demo"

// The simulated risk limit: larger orders are rejected. It is tightened in
// the last phase, which rejects about a fifth of orders.
const (
	maxQuantity   = 990
	tightQuantity = 800
)

var errOverLimit = errors.New("quantity over the per-order limit")

// workload is the order flow: a simulated risk check, then the order book
// engine. It is safe for concurrent use.
type workload struct {
	tracer    trace.Tracer
	engine    *orderbook.Engine
	logPath   string
	nextID    atomic.Uint64
	orders    atomic.Int64
	filled    atomic.Int64 // traded, and nothing of it rests
	rested    atomic.Int64 // rests in the book, perhaps after trading some
	cancelled atomic.Int64 // nothing traded or rests: an IOC or market order that found nothing, or self-trade prevention
	rejected  atomic.Int64 // by the risk check
	refused   atomic.Int64 // by the book (a post-only order that would take, say)
	outcome   metric.Int64Counter
	latency   metric.Float64Histogram
	// Precomputed attribute sets: no allocation per order for metrics.
	filledAttrs, restedAttrs, cancelledAttrs, rejectedAttrs metric.MeasurementOption
}

func newWorkload(tp trace.TracerProvider, mp metric.MeterProvider, logPath string) (*workload, error) {
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
	engine, err := orderbook.OpenEngine(logPath, orderbook.WithTracerProvider(tp), orderbook.WithMeterProvider(mp))
	if err != nil {
		return nil, err
	}
	outcomeSet := func(name string) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("demo.outcome", name)))
	}
	return &workload{
		tracer:         tp.Tracer(scope),
		engine:         engine,
		logPath:        logPath,
		outcome:        outcome,
		latency:        latency,
		filledAttrs:    outcomeSet("filled"),
		restedAttrs:    outcomeSet("rested"),
		cancelledAttrs: outcomeSet("cancelled"),
		rejectedAttrs:  outcomeSet("rejected"),
	}, nil
}

// submitLoop places orders until ctx ends, pacing its share of the
// schedule's rate against absolute deadlines (so the average holds even
// when a sleep overshoots). It cancels each order it rested once it has
// rested 50 newer ones, as a market maker refreshes its quotes, so the
// book keeps a steady depth.
func (w *workload) submitLoop(ctx context.Context, seed uint64, s schedule, workers int) {
	rng := rand.New(rand.NewPCG(seed, 0x6f746c70676f))
	var resting [50]orderbook.OrderID
	n := 0
	next := time.Now()
	for ctx.Err() == nil {
		now := time.Now()
		limit := maxQuantity
		if s.phase(now) == 2 {
			limit = tightQuantity
		}
		o := orderbook.Order{
			Side:  orderbook.Side(1 + rng.IntN(2)),
			Kind:  orderbook.Limit,
			Price: orderbook.Price(100 + rng.IntN(20)),
			Qty:   orderbook.Qty(rng.IntN(1000) + 1),
			Owner: seed + 1,
		}
		switch rng.IntN(10) {
		case 0:
			o.Kind = orderbook.IOC
		case 1:
			o.Kind = orderbook.Market
		case 2:
			o.Kind = orderbook.PostOnly
		}
		if id, rested := w.place(ctx, o, int(limit)); rested {
			if old := resting[n%len(resting)]; old != 0 {
				// Fire and forget: the result is in the event stream and
				// the log; the order may have been filled meanwhile.
				_ = w.engine.Send(ctx, orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: old}}, nil)
			}
			resting[n%len(resting)] = id
			n++
		}
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
// children. It returns the order's ID and whether some of it rests.
func (w *workload) place(ctx context.Context, o orderbook.Order, limit int) (orderbook.OrderID, bool) {
	start := time.Now()
	ctx, span := w.tracer.Start(ctx, "order.place", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.Int64("demo.order.quantity", int64(o.Qty)), attribute.Int64("demo.order.price", int64(o.Price)),
			attribute.String("demo.order.kind", o.Kind.String())))
	defer span.End()
	w.orders.Add(1)
	// The run's deadline ends the workload, not the order in flight.
	ctx = context.WithoutCancel(ctx)
	record := func(c *atomic.Int64, attrs metric.MeasurementOption) {
		c.Add(1)
		w.outcome.Add(ctx, 1, attrs)
		w.latency.Record(ctx, time.Since(start).Seconds(), attrs)
	}

	if err := w.riskCheck(ctx, int(o.Qty), limit); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		record(&w.rejected, w.rejectedAttrs)
		return 0, false
	}
	o.ID = orderbook.OrderID(w.nextID.Add(1))
	fills, rests, err := w.match(ctx, o)
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		record(&w.refused, w.rejectedAttrs)
	case rests:
		record(&w.rested, w.restedAttrs)
	case fills > 0:
		record(&w.filled, w.filledAttrs)
	default:
		record(&w.cancelled, w.cancelledAttrs)
	}
	return o.ID, rests
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

// match sends the order through the engine and waits for its events.
func (w *workload) match(ctx context.Context, o orderbook.Order) (fills int, rests bool, err error) {
	ctx, span := w.tracer.Start(ctx, "book.match")
	defer span.End()
	var buf [16]orderbook.Event
	events, seq, err := w.engine.Do(ctx, orderbook.Command{Op: orderbook.OpSubmit, Order: o}, buf[:0])
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return 0, false, err
	}
	for _, e := range events {
		switch e.Kind {
		case orderbook.Filled:
			fills++
		case orderbook.Rested:
			rests = true
		case orderbook.Rejected:
			err = fmt.Errorf("book rejected the order: %s", e.Reason)
		}
	}
	span.SetAttributes(attribute.Int64("orderbook.seq", int64(seq)), attribute.Int("orderbook.fills", fills))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return fills, rests, err
}

// bookReport is how the order book engine ended.
type bookReport struct {
	commands      uint64
	resting       int
	logBytes      int64
	replay        time.Duration
	replayMatches bool
}

// closeBook stops the engine, then replays its log and compares the
// rebuilt book with the engine's last snapshot.
func (w *workload) closeBook(ctx context.Context) (bookReport, error) {
	var r bookReport
	snap, seq, err := w.engine.Snapshot(ctx)
	if err != nil {
		return r, err
	}
	if err := w.engine.Shutdown(ctx); err != nil {
		return r, err
	}
	f, err := os.Open(w.logPath)
	if err != nil {
		return r, err
	}
	defer f.Close()
	start := time.Now()
	book, n, err := orderbook.Replay(f)
	r.replay = time.Since(start)
	if err != nil {
		return r, err
	}
	if fi, err := f.Stat(); err == nil {
		r.logBytes = fi.Size()
	}
	r.commands, r.resting = n, book.Len()
	r.replayMatches = n == seq && bytes.Equal(book.AppendSnapshot(nil), snap)
	return r, nil
}
