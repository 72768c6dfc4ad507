package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/risk"
)

const scope = "github.com/otlpgo/otlpgo/cmd/otlpgo-demo"

// instrument is the one the demo trades.
const instrument = "DEMO"

// Every order is priced from lowPrice to highPrice, so no trade happens
// outside them.
const lowPrice, highPrice = 100, 119

// riskConfig is the demo's pre-trade limits. The per-order quantity limit
// is lowered to tightQuantity in the last phase (a hot SetConfig), which
// rejects about a fifth of orders; a price band of 25% around the last
// trade (prices stay within lowPrice to highPrice) catches the occasional
// fat-fingered price.
func riskConfig(maxQty int64) risk.Config {
	return risk.Config{
		MaxOrderQty:   maxQty,
		PriceBandBps:  2_500,
		DailyNotional: 1 << 50,
		MaxPosition:   1 << 30,
		OrderRate:     50_000,
		OrderBurst:    1_000,
		AnomalyZ:      6,
	}
}

const (
	maxQuantity   = 990
	tightQuantity = 800
)

// workload is the order flow: the risk engine, then the order book
// engine, whose event stream keeps risk's reservations in step with fills
// and cancels. It is safe for concurrent use.
type workload struct {
	tracer    trace.Tracer
	risk      *risk.Engine
	tightened atomic.Bool
	engine    *orderbook.Engine
	logPath   string
	nextID    atomic.Uint64
	orders    atomic.Int64
	filled    atomic.Int64 // traded, and nothing of it rests
	rested    atomic.Int64 // rests in the book, perhaps after trading some
	cancelled atomic.Int64 // nothing traded or rests: an IOC or market order that found nothing, or self-trade prevention
	rejected  atomic.Int64 // by the risk check
	byRule    sync.Map     // rule name → *atomic.Int64: risk rejections
	refused   atomic.Int64 // by the book (a post-only order that would take, say)
	riskSync  atomic.Int64 // fills and releases the risk engine refused: should stay 0
	fills     []fill       // every trade, appended by onResult (the matching goroutine), read after the engine stops
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
	riskEngine, err := risk.New(riskConfig(maxQuantity), risk.WithTracerProvider(tp), risk.WithMeterProvider(mp))
	if err != nil {
		return nil, err
	}
	riskEngine.SetReferencePrice(instrument, 110)
	w := &workload{risk: riskEngine}
	engine, err := orderbook.OpenEngine(logPath, orderbook.WithTracerProvider(tp), orderbook.WithMeterProvider(mp),
		orderbook.WithEventStream(w.onResult))
	if err != nil {
		return nil, err
	}
	outcomeSet := func(name string) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("demo.outcome", name)))
	}
	*w = workload{
		risk:           riskEngine,
		tracer:         tp.Tracer(scope),
		engine:         engine,
		logPath:        logPath,
		outcome:        outcome,
		latency:        latency,
		filledAttrs:    outcomeSet("filled"),
		restedAttrs:    outcomeSet("rested"),
		cancelledAttrs: outcomeSet("cancelled"),
		rejectedAttrs:  outcomeSet("rejected"),
	}
	return w, nil
}

// onResult is the order book's event stream: it runs on the matching
// goroutine and tells the risk engine what filled (taker and maker) and
// what left the book, and moves the price band's reference to the last
// trade.
func (w *workload) onResult(r orderbook.Result) {
	note := func(err error) {
		if err != nil {
			w.riskSync.Add(1)
		}
	}
	for _, e := range r.Events {
		switch e.Kind {
		case orderbook.Filled:
			note(w.risk.Fill(uint64(e.Order), int64(e.Qty), int64(e.Price)))
			note(w.risk.Fill(uint64(e.Maker), int64(e.Qty), int64(e.Price)))
			w.risk.SetReferencePrice(instrument, int64(e.Price))
			w.fills = append(w.fills, fill{e.Order, e.Maker, e.Price, e.Qty})
		case orderbook.Cancelled:
			note(w.risk.Release(uint64(e.Order)))
		case orderbook.Rejected:
			if r.Command.Op == orderbook.OpSubmit { // a refused order; a refused cancel changes nothing
				note(w.risk.Release(uint64(e.Order)))
			}
		}
	}
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
		if s.phase(now) == 2 && w.tightened.CompareAndSwap(false, true) {
			// Limits change while orders flow: no check stops for it.
			_ = w.risk.SetConfig(riskConfig(tightQuantity))
		}
		o := orderbook.Order{
			Side:  orderbook.Side(1 + rng.IntN(2)),
			Kind:  orderbook.Limit,
			Price: orderbook.Price(lowPrice + rng.IntN(highPrice-lowPrice+1)),
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
		if rng.IntN(200) == 0 {
			o.Price *= 10 // a fat finger: the price band stops it
		}
		if id, rested := w.place(ctx, o); rested {
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
func (w *workload) place(ctx context.Context, o orderbook.Order) (orderbook.OrderID, bool) {
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

	o.ID = orderbook.OrderID(w.nextID.Add(1))
	if err := w.riskCheck(ctx, o); err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		record(&w.rejected, w.rejectedAttrs)
		return 0, false
	}
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

// riskCheck runs the order through the risk engine under a span of its
// own, where a rejection leaves its event.
func (w *workload) riskCheck(ctx context.Context, o orderbook.Order) error {
	ctx, span := w.tracer.Start(ctx, "risk.check")
	defer span.End()
	price := int64(o.Price)
	if o.Kind == orderbook.Market {
		// A market order has no limit, and risk refuses a fill through the
		// price it checked: check it at the worst price it can trade at.
		price = highPrice
		if o.Side == orderbook.Sell {
			price = lowPrice
		}
	}
	d := w.risk.Check(ctx, risk.Order{ID: uint64(o.ID), Account: accountName(o.Owner), Instrument: instrument,
		Side: risk.Side(o.Side), Price: price, Qty: int64(o.Qty)})
	if d.Allowed {
		return nil
	}
	c, _ := w.byRule.LoadOrStore(d.Rule, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	err := d.Err()
	span.SetStatus(codes.Error, err.Error())
	return err
}

// accountName names a worker's account, for risk.
func accountName(owner uint64) string {
	return "worker-" + strconv.FormatUint(owner, 10)
}

// rejectionsByRule lists risk rejections by rule, such as
// "max-quantity 410, price-band 12".
func (w *workload) rejectionsByRule() string {
	var parts []string
	w.byRule.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(parts)
	return strings.Join(parts, ", ")
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
	riskOpen      int // orders the risk engine still holds reservations for
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
	r.commands, r.resting, r.riskOpen = n, book.Len(), w.risk.OpenOrders()
	r.replayMatches = n == seq && bytes.Equal(book.AppendSnapshot(nil), snap)
	return r, nil
}
