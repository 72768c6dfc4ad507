package main

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync/atomic"
	"time"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/orderbook"
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
}

// settleReport is how settlement went.
type settleReport struct {
	settled  int
	notional int64
	retried  int64 // clearing calls that failed and were tried again
}

// errClearingBusy is the simulated clearing house's transient failure.
var errClearingBusy = errors.New("clearing: busy, try again")

// settle runs the session's fills through a pipeline of two stages:
// "price" computes each fill's notional, and "clear" sends it to a
// simulated clearing house that is busy one call in ten (sometimes
// saying how long to wait), retried with errs.Retry.
func settle(ctx context.Context, fills []fill) (settleReport, error) {
	var r settleReport
	var retried atomic.Int64
	price, err := concurrency.NewStage("price", 2, func(_ context.Context, f fill) (settlement, error) {
		return settlement{f, int64(f.price) * int64(f.qty)}, nil
	})
	if err != nil {
		return r, err
	}
	clear, err := concurrency.NewStage("clear", 4, func(ctx context.Context, s settlement) (settlement, error) {
		attempt := 0
		return errs.Retry(ctx, func(context.Context) (settlement, error) {
			attempt++
			// Busy for one fill in ten on its first try, deterministically.
			if attempt == 1 && (uint64(s.fill.taker)*0x9E3779B97F4A7C15)>>60 == 0 {
				retried.Add(1)
				if s.fill.maker%2 == 0 {
					return s, errs.RetryAfter(errClearingBusy, 200*time.Microsecond)
				}
				return s, errClearingBusy
			}
			return s, nil
		}, errs.WithMaxAttempts(4), errs.WithBackoff(100*time.Microsecond, 2*time.Millisecond))
	})
	if err != nil {
		return r, err
	}
	var src iter.Seq[fill] = slices.Values(fills)
	err = concurrency.RunPipeline(ctx, src, concurrency.Then(price, clear), func(_ context.Context, s settlement) error {
		r.settled++
		r.notional += s.notional
		return nil
	}, concurrency.WithName("settlement"))
	r.retried = retried.Load()
	return r, err
}
