package risk_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/risk"
)

// allRulesConfig turns every built-in rule on, with limits an ordinary
// order passes: the benchmark measures allowed orders, the common case.
func allRulesConfig() risk.Config {
	return risk.Config{
		MaxOrderQty:      1_000,
		MaxOrderNotional: 10_000_000,
		PriceBandBps:     500,
		DailyNotional:    1 << 50,
		TimeZone:         "America/New_York",
		MaxPosition:      1 << 30,
		OrderRate:        1e9, // on, and never the limit here
		OrderBurst:       1_000,
		AnomalyZ:         6,
		AnomalyWarmup:    20,
		Restricted:       []string{"CLF7"},
		Multipliers:      map[string]int64{"NQZ6": 2},
	}
}

// BenchmarkCheck measures an allowed order through every built-in rule,
// then its release (the order cancelled), so that reservations stay level:
// one op is a Check and a Release. accounts is how many accounts the
// orders spread over; parallel runs on every core (RunParallel).
func BenchmarkCheck(b *testing.B) {
	for _, accounts := range []int{1, 1000} {
		names := make([]string, accounts)
		for i := range names {
			names[i] = fmt.Sprintf("account-%04d", i)
		}
		for _, parallel := range []bool{false, true} {
			b.Run(fmt.Sprintf("rules=all/accounts=%d/parallel=%v", accounts, parallel), func(b *testing.B) {
				e, err := risk.New(allRulesConfig())
				if err != nil {
					b.Fatal(err)
				}
				e.SetReferencePrice("ESZ6", 5_000)
				// Each goroutine numbers its orders in its own range, so that
				// the harness shares no counter between cores.
				run := func(id, seq uint64) {
					o := risk.Order{ID: id, Account: names[seq%uint64(accounts)], Instrument: "ESZ6",
						Side: risk.Side(1 + seq%2), Price: 4_990 + int64(seq%20), Qty: 1 + int64(seq%10)}
					if d := e.Check(context.Background(), o); !d.Allowed {
						b.Fatalf("rejected: %+v", d)
					}
					if err := e.Release(id); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				if !parallel {
					id, seq := uint64(0), uint64(0)
					for b.Loop() {
						id++
						run(id, seq)
						seq += 7919 // a prime stride: successive orders on different accounts
					}
					return
				}
				// Goroutines pick accounts at random (xorshift), so that they do
				// not walk the accounts in step and meet on the same locks.
				var goroutine atomic.Uint64
				b.RunParallel(func(pb *testing.PB) {
					g := goroutine.Add(1)
					id, x := g<<40, g*0x9E3779B97F4A7C15
					for pb.Next() {
						id++
						x ^= x << 13
						x ^= x >> 7
						x ^= x << 17
						run(id, x)
					}
				})
			})
		}
	}
}
