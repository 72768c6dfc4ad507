package risk

import (
	"errors"
	"fmt"

	"github.com/otlpgo/otlpgo/internal/checked"
)

// checkInvariants reports what is inconsistent in the engine's state: an
// open order left pending, an open quantity out of range, a reservation
// that is not exactly the sum of the open orders it stands for, a
// negative amount, a trading day that ends before it starts, or a sum
// that no longer fits in an int64. Tests call it after every operation
// and in t.Cleanup (export_test.go). It locks each
// shard in turn, so it must run while no check, fill or release does.
func (e *Engine) checkInvariants() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c := e.cfg.Load()

	// What the open orders should hold, from the open orders alone.
	held := map[string]int64{}
	type open struct{ buy, sell int64 }
	positions := map[posKey]open{}
	for i := range e.open.shards {
		s := &e.open.shards[i]
		s.mu.Lock()
		for id, r := range s.m {
			o := r.order
			switch {
			case r.pending:
				bad("order %d is still pending", id)
				continue
			case o.ID != id:
				bad("order %d is filed under ID %d", o.ID, id)
			case r.open <= 0 || r.open > o.Qty:
				bad("order %d has %d open of %d", id, r.open, o.Qty)
			}
			n, ok1 := notional(o.Price, r.open, c.multiplier(o.Instrument))
			sum, ok2 := checked.Add(held[o.Account], n)
			if !ok1 || !ok2 {
				bad("account %s: open notional does not fit in an int64", o.Account)
			}
			held[o.Account] = sum
			k := posKey{o.Account, o.Instrument}
			p := positions[k]
			if o.Side == Buy {
				p.buy += r.open
			} else {
				p.sell += r.open
			}
			positions[k] = p
		}
		for _, r := range s.free {
			if r.pending || r.open != 0 {
				bad("a free open-order record is in use: %+v", *r)
			}
		}
		s.mu.Unlock()
	}

	for _, r := range e.rules {
		switch r := r.rule.(type) {
		case dailyNotional:
			r.state.each(func(account string, st *dailyState) {
				if st.loc != nil && st.end <= st.day {
					bad("account %s: its day starts at %d and ends at %d", account, st.day, st.end)
				}
				if st.used < 0 || st.reserved < 0 {
					bad("account %s: daily used %d, reserved %d", account, st.used, st.reserved)
				}
				if _, ok := checked.Add(st.used, st.reserved); !ok {
					bad("account %s: daily used %d + reserved %d does not fit in an int64", account, st.used, st.reserved)
				}
				if want := held[account]; st.reserved != want {
					bad("account %s: %d daily notional reserved, its open orders hold %d", account, st.reserved, want)
				}
				delete(held, account)
			})
			for account, n := range held {
				if n != 0 {
					bad("account %s: open orders hold %d daily notional, none is reserved", account, n)
				}
			}
		case position:
			r.state.each(func(k posKey, st *positionState) {
				want := positions[k]
				if st.openBuy != want.buy || st.openSell != want.sell {
					bad("%s in %s: %d open to buy and %d to sell, its open orders hold %d and %d",
						k.account, k.instrument, st.openBuy, st.openSell, want.buy, want.sell)
				}
				_, ok1 := checked.Add(st.filled, st.openBuy)
				_, ok2 := checked.Sub(st.filled, st.openSell)
				if !ok1 || !ok2 {
					bad("%s in %s: position %d with %d/%d open does not fit in an int64", k.account, k.instrument, st.filled, st.openBuy, st.openSell)
				}
				delete(positions, k)
			})
			for k, p := range positions {
				if p != (open{}) {
					bad("%s in %s: open orders hold %+v, no position state", k.account, k.instrument, p)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// each calls f with every key's value, locking one shard at a time.
func (t *table[K, V]) each(f func(K, *V)) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for k, v := range s.m {
			f(k, v)
		}
		s.mu.Unlock()
	}
}
