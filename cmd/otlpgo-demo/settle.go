package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/saga"
)

// fill is one trade, as the order book's event stream reported it.
type fill struct {
	taker, maker orderbook.OrderID
	price        orderbook.Price
	qty          orderbook.Qty
}

// settlement is what clearing is told of a fill.
type settlement struct {
	fill     fill
	notional int64
	outcome  saga.Outcome
}

// settleReport is how settlement went.
type settleReport struct {
	settled, compensated, stuck int
	notional                    int64
	retried                     int64 // clearing calls that failed and were tried again
}

// ledger is the demo's cash ledger: each entry applied once per
// idempotency key, as a real one would with a unique constraint.
type ledger struct {
	mu      sync.Mutex
	applied map[string]int64 // guarded by mu
}

func (l *ledger) post(key string, amount int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, done := l.applied[key]; !done {
		l.applied[key] = amount
	}
}

// errClearingBusy is the simulated clearing house's transient failure.
var (
	errClearingBusy     = errors.New("clearing: busy, try again")
	errClearingRejected = errors.New("clearing: trade rejected")
)

// settle runs the session's fills through a pipeline of two stages:
// "price" computes each fill's notional, and "clear" settles it with a
// saga over a bbolt log in dir: debit the buyer, credit the seller,
// confirm with a simulated clearing house that is busy one call in ten
// (retried, some failures saying how long to wait) and rejects one trade
// in two hundred (the saga then compensates the debit and the credit).
// Each fill is a trace of its own: its "price" stage span is the root,
// linked to the pipeline's run span, and the "clear" stage span and the
// saga's spans follow it; the pipeline's run is one span, however many
// fills there are.
func settle(ctx context.Context, dir string, fills []fill) (settleReport, error) {
	var r settleReport
	var retried atomic.Int64
	book := &ledger{applied: map[string]int64{}}
	amount := func(input []byte) int64 {
		var n int64
		fmt.Sscan(string(input), &n)
		return n
	}
	def := saga.Definition{Name: "settle", Steps: []saga.Step{
		{Name: "debit-buyer",
			Action:     func(_ context.Context, key string, in []byte) error { book.post(key, -amount(in)); return nil },
			Compensate: func(_ context.Context, key string, in []byte) error { book.post(key, amount(in)); return nil }},
		{Name: "credit-seller",
			Action:     func(_ context.Context, key string, in []byte) error { book.post(key, amount(in)); return nil },
			Compensate: func(_ context.Context, key string, in []byte) error { book.post(key, -amount(in)); return nil }},
		{Name: "confirm", Attempts: 4, Action: func(ctx context.Context, key string, in []byte) error {
			h := fnv(key)
			switch {
			case h%200 == 0:
				return errs.Permanent(errClearingRejected)
			case h%10 == 1 && !book.seen(key):
				book.post(key, 0) // remember the first try: the retry succeeds
				retried.Add(1)
				if h%20 == 1 {
					return errs.RetryAfter(errClearingBusy, 0)
				}
				return errClearingBusy
			}
			return nil
		}},
	}}
	log, err := saga.OpenBoltLog(filepath.Join(dir, "settlement.db"))
	if err != nil {
		return r, err
	}
	defer log.Close()
	coord, err := saga.New(log, []saga.Definition{def}, saga.WithBackoff(100_000, 2_000_000)) // 0.1ms to 2ms
	if err != nil {
		return r, err
	}
	if _, err := coord.Recover(ctx); err != nil { // a previous run's leftovers, if any
		return r, err
	}
	price, err := concurrency.NewStage("price", 2, func(_ context.Context, f fill) (settlement, error) {
		return settlement{fill: f, notional: int64(f.price) * int64(f.qty)}, nil
	})
	if err != nil {
		return r, err
	}
	clear, err := concurrency.NewStage("clear", 64, func(ctx context.Context, s settlement) (settlement, error) {
		id := fmt.Sprintf("fill-%d-%d", s.fill.taker, s.fill.maker)
		out, err := coord.Run(ctx, "settle", id, []byte(fmt.Sprint(s.notional)))
		var se *saga.StepError
		if err != nil && !errors.As(err, &se) {
			return s, err // the log failed: stop the pipeline
		}
		s.outcome = out
		return s, nil
	})
	if err != nil {
		return r, err
	}
	err = concurrency.RunPipeline(ctx, slices.Values(fills), concurrency.Then(price, clear), func(_ context.Context, s settlement) error {
		switch s.outcome {
		case saga.Completed:
			r.settled++
			r.notional += s.notional
		case saga.Compensated:
			r.compensated++
		case saga.Stuck:
			r.stuck++
		}
		return nil
	}, concurrency.WithName("settlement"), concurrency.WithItemSpans(true))
	r.retried = retried.Load()
	return r, err
}

func (l *ledger) seen(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.applied[key]
	return ok
}

// fnv hashes a key, to decide the simulated clearing house's answers.
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := range len(s) {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
