package risk_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/risk"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var (
	accounts    = []string{"acme", "bolt", "crux", "dawn", "echo"}
	instruments = []string{"ESZ6", "NQZ6", "CLF7"}
)

// streamConfig is a configuration where every rule bites now and then.
func streamConfig(rng *rand.Rand) risk.Config {
	return risk.Config{
		MaxOrderQty:      int64(80 + rng.IntN(40)),
		MaxOrderNotional: int64(900_000 + rng.IntN(300_000)),
		PriceBandBps:     int64(300 + rng.IntN(400)),
		DailyNotional:    int64(3_000_000 + rng.IntN(3_000_000)),
		TimeZone:         "America/New_York",
		MaxPosition:      int64(150 + rng.IntN(200)),
		OrderRate:        float64(50 + rng.IntN(100)),
		OrderBurst:       1 + rng.IntN(10),
		AnomalyZ:         2 + rng.Float64()*2,
		AnomalyWarmup:    10,
		Restricted:       []string{"CLF7"},
		Multipliers:      map[string]int64{"NQZ6": 2, "BIGX": 1 << 50},
		Accounts: map[string]risk.AccountLimits{
			"bolt": {DailyNotional: int64(1_000_000 + rng.IntN(1_000_000)), OrderRate: 20, OrderBurst: 3},
			"crux": {MaxPosition: 50},
		},
	}
}

// edges are numbers at and near the int64 limits and the engine's own
// bounds, where arithmetic goes wrong if it is going to.
var edges = []int64{
	0, 1, -1, 2, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 + 7, 3037000499, 3037000500,
	1 << 40, risk.MaxQty - 1, risk.MaxQty, risk.MaxQty + 1, 1_000_000_000, 100_000,
	1 << 52, risk.MaxNotional - 1, risk.MaxNotional + 1, 1<<62 - 1, 1 << 62, 1<<62 + 1,
	math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 2, math.MinInt64, math.MinInt64 + 1, -(1 << 62),
}

// edge returns one of edges, or a positive number near one of them.
func edge(rng *rand.Rand) int64 {
	v := edges[rng.IntN(len(edges))]
	if rng.IntN(3) == 0 && v > 2 && v < math.MaxInt64-2 {
		v += int64(rng.IntN(5)) - 2
	}
	return v
}

// TestDifferentialAgainstReference drives the engine and the reference
// with the same random operations on one goroutine (checks, partial
// fills, releases, kill switches, reference prices, the clock crossing
// midnight in New York, hot config swaps; now and then a price,
// quantity, fill price or reference price from edges, and an instrument
// whose multiplier makes every notional overflow) and requires the same decision
// from each, rule and reason, and the same answer to every fill and
// release.
func TestDifferentialAgainstReference(t *testing.T) {
	ops := 200_000
	if testing.Short() {
		ops = 20_000
	}
	for _, seed := range []uint64{uint64(time.Now().UnixNano()), 1, 2} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 3))
			clock := &fakeClock{t: time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)}
			cfg := streamConfig(rng)
			e, err := risk.New(cfg, risk.WithClock(clock.now))
			if err != nil {
				t.Fatal(err)
			}
			ref := newRefEngine(cfg)
			for _, inst := range instruments[:2] {
				e.SetReferencePrice(inst, 5_000)
				ref.refs[inst] = 5_000
			}
			st := &stream{rng: rng, e: e, ref: ref, clock: clock, accounts: accounts, nextID: 1, global: true}
			reasons, err := st.run(ops)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			if got := e.OpenOrders(); got != len(ref.open) {
				t.Fatalf("%d open orders, reference has %d", got, len(ref.open))
			}
			for _, r := range []risk.Reason{risk.ReasonNone, risk.ReasonInvalidOrder, risk.ReasonDuplicateID, risk.ReasonAccountKilled,
				risk.ReasonAllKilled, risk.ReasonRestricted, risk.ReasonMaxQty, risk.ReasonPriceBand, risk.ReasonRate,
				risk.ReasonSizeAnomaly, risk.ReasonPosition, risk.ReasonDailyNotional, risk.ReasonOverflow} {
				if reasons[r] == 0 {
					t.Errorf("the stream never produced %q: it does not exercise that rule", r)
				}
			}
			t.Logf("%d operations; decisions by reason: %v", ops, reasons)
		})
	}
}

// stream is one random operation stream against an engine and its
// reference: its own accounts and IDs, and (if global) the global kill
// switch, the clock and hot config swaps too.
type stream struct {
	rng      *rand.Rand
	e        *risk.Engine
	ref      *refEngine
	clock    *fakeClock
	accounts []string
	nextID   uint64
	global   bool
}

// run performs ops operations and returns the decisions' reasons counted.
func (st *stream) run(ops int) (map[risk.Reason]int, error) {
	rng, e, ref, clock, accounts := st.rng, st.e, st.ref, st.clock, st.accounts
	nextID := st.nextID
	ctx := context.Background()
	var ids []uint64
	reasons := map[risk.Reason]int{}
	for op := range ops {
		switch k := rng.IntN(100); {
		case k < 60: // check
			o := risk.Order{
				ID:         nextID,
				Account:    accounts[rng.IntN(len(accounts))],
				Instrument: instruments[rng.IntN(len(instruments))],
				Side:       risk.Side(1 + rng.IntN(2)),
				Price:      int64(4_700 + rng.IntN(600)),
				Qty:        int64(1 + rng.IntN(30)),
			}
			switch rng.IntN(40) {
			case 0:
				o.Qty = int64(60 + rng.IntN(100)) // an outlier, maybe over the limit
			case 1:
				o.Price = 0 // invalid
			case 2:
				if len(ids) > 0 {
					o.ID = ids[rng.IntN(len(ids))] // maybe a duplicate
				}
			case 3:
				o.Price = edge(rng) // near the int64 limits
			case 4:
				o.Qty = edge(rng)
			case 5:
				o.Instrument = "BIGX" // a huge multiplier: notionals overflow
			}
			if o.ID == nextID {
				nextID++
			}
			d := e.Check(ctx, o)
			ref.anomalyHint = d.Reason == risk.ReasonSizeAnomaly
			wantRule, wantReason := ref.check(o, clock.t)
			if d.Allowed != (wantReason == risk.ReasonNone) || d.Rule != wantRule || d.Reason != wantReason {
				return nil, fmt.Errorf("op %d: Check(%+v) = %+v, reference says %q %v", op, o, d, wantRule, wantReason)
			}
			if d.Allowed {
				ids = append(ids, o.ID)
			} else if d.Message == "" {
				return nil, fmt.Errorf("op %d: rejection without a message: %+v", op, d)
			}
			reasons[d.Reason]++
		case k < 75 && len(ids) > 0: // a fill, partial or whole or too much
			id := ids[rng.IntN(len(ids))]
			qty, price := int64(1+rng.IntN(20)), int64(4_800+rng.IntN(400))
			if rng.IntN(20) == 0 {
				price = edge(rng)
			}
			want := ref.fill(id, qty, price, clock.t)
			if err := e.Fill(id, qty, price); (err == nil) != (want == nil) || (want != nil && !errors.Is(err, want)) {
				return nil, fmt.Errorf("op %d: Fill(%d, %d, %d) = %v, reference says %v", op, id, qty, price, err, want)
			}
		case k < 85 && len(ids) > 0:
			i := rng.IntN(len(ids))
			id := ids[i]
			want := ref.release(id)
			if err := e.Release(id); (err == nil) != want || (err != nil && !errors.Is(err, risk.ErrUnknownOrder)) {
				return nil, fmt.Errorf("op %d: Release(%d) = %v, reference ok=%v", op, id, err, want)
			}
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
		case k < 93 && st.global: // time moves: mostly milliseconds, now and then past midnight
			step := time.Duration(rng.IntN(20)) * time.Millisecond
			if rng.IntN(500) == 0 {
				step = time.Duration(6+rng.IntN(12)) * time.Hour
			}
			clock.t = clock.t.Add(step)
		case k < 96 && st.global:
			inst := instruments[rng.IntN(2)]
			p := int64(4_900 + rng.IntN(200))
			if rng.IntN(50) == 0 {
				p = edge(rng)
			}
			e.SetReferencePrice(inst, p)
			ref.refs[inst] = p
		case k < 98:
			a := accounts[rng.IntN(len(accounts))]
			on := rng.IntN(3) == 0
			e.Kill(a, on)
			ref.killed[a] = on
		case k < 99 && st.global:
			on := rng.IntN(10) == 0
			e.KillAll(on)
			ref.killedAll = on
		case st.global: // hot swap of the limits
			next := streamConfig(rng)
			if err := e.SetConfig(next); err != nil {
				return nil, err
			}
			ref.cfg = next
		}
	}
	st.nextID = nextID
	return reasons, nil
}

// TestDifferentialConcurrentSafe runs streams on several goroutines at
// once against one engine, each stream with accounts and IDs of its own
// and its own reference, so that its decisions must match its reference
// exactly while the others' checks run beside it: shards isolate
// accounts, and shared parts (reference prices, the open-order table,
// the config) are only read or are keyed apart.
func TestDifferentialConcurrentSafe(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	clock := &fakeClock{t: time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)} // fixed: no stream moves it
	cfg := streamConfig(rng)
	cfg.OrderRate = 0 // the rate needs time to move
	e, err := risk.New(cfg, risk.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range instruments[:2] {
		e.SetReferencePrice(inst, 5_000)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		ref := newRefEngine(cfg)
		ref.refs[instruments[0]], ref.refs[instruments[1]] = 5_000, 5_000
		var own []string
		for _, a := range accounts {
			own = append(own, fmt.Sprintf("g%d-%s", g, a))
		}
		st := &stream{rng: rand.New(rand.NewPCG(seed, uint64(g))), e: e, ref: ref, clock: clock, accounts: own,
			nextID: uint64(g+1) << 40}
		wg.Go(func() {
			if _, err := st.run(2_000); err != nil {
				t.Errorf("stream %d: %v", g, err)
			}
		})
	}
	wg.Wait()
}
