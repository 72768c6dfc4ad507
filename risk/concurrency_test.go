package risk_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/risk"
)

// TestDailyLimitConcurrentSafe races goroutines to spend one account's
// daily notional, with a position limit and an unrelated account beside
// it, and requires that what was allowed never exceeds either limit and,
// since nothing is released, that exactly as much as fits was allowed:
// no reservation lost or double counted.
func TestDailyLimitConcurrentSafe(t *testing.T) {
	const (
		limit      = 1_000_000
		perOrder   = 1_000 // price 100 × 10 lots
		goroutines = 8
		attempts   = 300
		maxPos     = 5_000 // lots: 500 orders of 10
	)
	e := newEngine(t, risk.Config{DailyNotional: limit, MaxPosition: maxPos})
	var allowed, allowedLots, other atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range attempts {
				o := order("hot", 10, 100)
				if g%2 == 1 {
					o.Instrument = "NQZ6" // positions per instrument: half the orders each
				}
				if e.Check(context.Background(), o).Allowed {
					allowed.Add(perOrder)
					allowedLots.Add(10)
				}
				if i%10 == 0 && e.Check(context.Background(), order("cold", 1, 1)).Allowed {
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	attempted := int64(goroutines * attempts * perOrder)
	t.Logf("attempted %d, allowed %d, limit %d (%d orders of %d allowed)", attempted, allowed.Load(), limit, allowed.Load()/perOrder, goroutines*attempts)
	// Each instrument's position may reach 5,000 lots: 10,000 lots in all,
	// worth 1,000,000: both limits bind at once.
	if allowed.Load() != limit || allowedLots.Load() > 2*maxPos {
		t.Fatalf("allowed %d notional (limit %d) and %d lots (limit %d per instrument)", allowed.Load(), limit, allowedLots.Load(), maxPos)
	}
	if other.Load() != goroutines*attempts/10 {
		t.Fatalf("the unrelated account had %d of %d orders allowed", other.Load(), goroutines*attempts/10)
	}
}

// TestReservationsConcurrentSafe checks, fills and releases orders from
// many goroutines, on a few accounts, and requires that once every order
// has ended nothing is left reserved: the daily notional left equals the
// limit less what was filled, to the unit.
func TestReservationsConcurrentSafe(t *testing.T) {
	const limit = 10_000_000
	e := newEngine(t, risk.Config{DailyNotional: limit, MaxPosition: 1_000})
	var filled [4]atomic.Int64 // notional filled per account
	accounts := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			acct := g % len(accounts)
			for i := range 200 {
				o := order(accounts[acct], int64(1+i%7), 100)
				if i%3 == 0 {
					o.Side = risk.Sell
				}
				if !e.Check(context.Background(), o).Allowed {
					continue
				}
				if i%2 == 0 {
					// A buy fills below its limit and counts at the fill
					// price; a sell fills above it and counts at its limit.
					price, counted := int64(90), int64(90)
					if o.Side == risk.Sell {
						price, counted = 110, 100
					}
					if err := e.Fill(o.ID, 1, price); err != nil {
						t.Error(err)
						return
					}
					filled[acct].Add(counted)
				}
				if o.Qty > 1 || i%2 == 1 {
					if err := e.Release(o.ID); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := e.OpenOrders(); n != 0 {
		t.Fatalf("%d orders still open", n)
	}
	for i, a := range accounts {
		// What is left today is exactly the limit less what was filled: an
		// order of exactly that notional passes, one unit more does not.
		left := limit - filled[i].Load()
		if left <= 0 {
			t.Fatalf("account %s spent its whole limit", a)
		}
		if d := e.Check(context.Background(), order(a, 1, left+1)); d.Reason != risk.ReasonDailyNotional {
			t.Fatalf("account %s: an order of %d (left %d) got %+v", a, left+1, left, d)
		}
		if d := e.Check(context.Background(), order(a, 1, left)); !d.Allowed {
			t.Fatalf("account %s: an order of exactly what is left (%d) was rejected: %+v", a, left, d)
		}
	}
}
