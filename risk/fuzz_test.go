package risk_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/risk"
)

// FuzzEngine decodes its input into a configuration and a sequence of
// operations (checks, fills, releases, config swaps, kill switches,
// reference prices, the clock moving forward or back or panicking, the
// caller changing the Config it passed in), with numbers biased toward the int64 limits
// and the engine's own bounds. It runs them against the engine and the
// reference model, and after every step requires: no panic; the same
// decision (rule and reason) and the same answer to every fill and
// release; a *panics.Error exactly where a user callback panicked; the
// engine's invariants; the same daily notional and positions as the
// reference; daily usage that never goes down except at midnight; no
// allowed order taking an account past its daily or position limit, no
// fill adding to used+reserved; the same number of open orders.
//
// The engine has two user rules that misbehave on cue (see fuzzUser):
// a Reserver at priority 850 and a rule at 1000, after every built-in.
func FuzzEngine(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var trace func(string)
		if os.Getenv("RISK_FUZZ_TRACE") != "" { // to read what an input does
			trace = func(s string) { t.Log(s) }
		}
		if err := runFuzz(&fuzzReader{data: data}, trace); err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzEdges are the numbers the decoder favours: at and near the int64
// limits and the engine's bounds, and the case numbers of issue 14.
var fuzzEdges = []int64{
	0, 1, -1, 2, 10, 100, 1_000, 100_000, 1_000_000_000, 1e14,
	1<<31 - 1, 1 << 31, 1<<32 + 7, 3037000499, 3037000500,
	1<<40 - 1, risk.MaxQty, risk.MaxQty + 1, 1 << 50,
	risk.MaxNotional - 1, risk.MaxNotional, risk.MaxNotional + 1,
	1<<62 - 1, 1 << 62, 1<<62 + 1, math.MaxInt64 / 2, math.MaxInt64 / 3,
	math.MaxInt64 - 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, -(1 << 62),
}

var (
	fuzzRates    = []float64{0, 1e-9, 0.5, 10, 1_000, 1e9}
	fuzzZs       = []float64{0, 0.5, 3, 1e300}
	fuzzZones    = []string{"", "America/New_York", "Asia/Tokyo"}
	fuzzSteps    = []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second, time.Hour, 7 * time.Hour, 25 * time.Hour}
	fuzzAccounts = []string{"x", "y"}
	fuzzInsts    = []string{"A", "B", "C", "D"} // A and B have multipliers from the input; C may be restricted
)

// fuzzReader decodes fuzz input; past its end it reads zeros.
type fuzzReader struct{ data []byte }

func (r *fuzzReader) done() bool { return len(r.data) == 0 }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

// num reads a number: 0-63 as itself, 64-191 an edge (odd: plus a signed
// byte), 192-255 eight bytes exactly.
func (r *fuzzReader) num() int64 {
	switch k := r.byte(); {
	case k < 64:
		return int64(k)
	case k < 192:
		v := fuzzEdges[int(k-64)/2%len(fuzzEdges)]
		if k&1 == 1 {
			v += int64(int8(r.byte()))
		}
		return v
	default:
		var b [8]byte
		for i := range b {
			b[i] = r.byte()
		}
		return int64(binary.BigEndian.Uint64(b[:]))
	}
}

// config reads a Config with the given multipliers.
func (r *fuzzReader) config(mults map[string]int64) risk.Config {
	c := risk.Config{Multipliers: maps.Clone(mults)}
	flags := r.byte()
	if flags&1 != 0 {
		c.MaxOrderQty = r.num()
	}
	if flags&2 != 0 {
		c.MaxOrderNotional = r.num()
	}
	if flags&4 != 0 {
		c.PriceBandBps = r.num()
	}
	if flags&8 != 0 {
		c.DailyNotional = r.num()
	}
	if flags&16 != 0 {
		c.MaxPosition = r.num()
	}
	if flags&32 != 0 {
		c.OrderRate = fuzzRates[int(r.byte())%len(fuzzRates)]
		c.OrderBurst = int(r.num())
	}
	if flags&64 != 0 {
		c.AnomalyZ = fuzzZs[int(r.byte())%len(fuzzZs)]
		c.AnomalyWarmup = int(r.byte() % 8)
	}
	if flags&128 != 0 {
		more := r.byte()
		c.TimeZone = fuzzZones[int(more)%len(fuzzZones)]
		if more&4 != 0 {
			c.Restricted = []string{"C"}
		}
		if more&8 != 0 {
			c.Accounts = map[string]risk.AccountLimits{"y": {
				DailyNotional: r.num(), MaxPosition: r.num(),
				OrderRate: fuzzRates[int(r.byte())%len(fuzzRates)], OrderBurst: int(r.byte()),
			}}
		}
	}
	return c
}

// fuzzClock is the engine's clock: it can be told to panic.
type fuzzClock struct {
	t         time.Time
	panicking bool
}

func (c *fuzzClock) now() time.Time {
	if c.panicking {
		panic("clock exploded")
	}
	return c.t
}

// fuzzUser is a user Reserver that holds each order's open quantity and
// misbehaves by the order's price modulo 97: 13 panics in Check, 14
// panics in Release (after giving back), 15 panics in Fill (after
// filling). fuzzLate, a plain rule after it, rejects 14 and 16 and
// panics on 17.
type fuzzUser struct{ held atomic.Int64 }

func (u *fuzzUser) Name() string { return "user" }
func (u *fuzzUser) Check(_ context.Context, o risk.Order) risk.Verdict {
	if o.Price%97 == 13 {
		panic("user check exploded")
	}
	u.held.Add(o.Qty)
	return risk.Allow
}
func (u *fuzzUser) Release(o risk.Order, qty int64) {
	u.held.Add(-qty)
	if o.Price%97 == 14 {
		panic("user release exploded")
	}
}
func (u *fuzzUser) Fill(o risk.Order, qty, _ int64) {
	u.held.Add(-qty)
	if o.Price%97 == 15 {
		panic("user fill exploded")
	}
}

var fuzzLate = ruleFunc("late", func(o risk.Order) risk.Verdict {
	switch o.Price % 97 {
	case 14, 16:
		return risk.Verdict{Reason: risk.ReasonUser, Message: "late says no"}
	case 17:
		panic("late check exploded")
	}
	return risk.Allow
})

// refUser and refLate are fuzzUser and fuzzLate for the reference.
func refUser(o risk.Order) (string, risk.Reason) {
	if o.Price%97 == 13 {
		return "user", risk.ReasonPanic
	}
	return "", risk.ReasonNone
}

func refLate(o risk.Order) (string, risk.Reason) {
	switch o.Price % 97 {
	case 14, 16:
		return "late", risk.ReasonUser
	case 17:
		return "late", risk.ReasonPanic
	}
	return "", risk.ReasonNone
}

// isPanic reports whether err holds a *panics.Error.
func isPanic(err error) bool {
	var pe *panics.Error
	return errors.As(err, &pe)
}

// runFuzz runs one decoded input; see FuzzEngine.
// If trace is not nil it is told each step and its outcome.
func runFuzz(r *fuzzReader, trace func(string)) error {
	ctx := context.Background()
	mults := map[string]int64{"A": r.num(), "B": r.num()}
	caller := r.config(mults) // the Config the caller passed last; it may change it afterwards
	clock := &fuzzClock{t: time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)}
	user := &fuzzUser{}
	var reported atomic.Int64
	opts := []risk.Option{risk.WithClock(clock.now), risk.WithRule(850, user), risk.WithRule(1000, fuzzLate),
		risk.WithErrorHandler(func(err error) {
			if !isPanic(err) {
				panic(fmt.Sprintf("the error handler got %v, not a *panics.Error", err))
			}
			reported.Add(1)
		})}
	e, err := risk.New(caller, opts...)
	if err != nil {
		if !errors.Is(err, risk.ErrInvalidConfig) {
			return fmt.Errorf("New: untyped error %v", err)
		}
		mults, caller = nil, risk.Config{}
		if e, err = risk.New(caller, opts...); err != nil {
			return err
		}
	}
	ref := newRefEngine(caller)
	ref.user, ref.late = refUser, refLate
	ids := func() uint64 { return uint64(r.byte() % 7) } // 0 is invalid; few IDs: duplicates
	type usage struct {
		used int64
		day  time.Time
	}
	last := map[string]usage{}

	if trace != nil {
		trace(fmt.Sprintf("New(%+v) with multipliers %v", caller, mults))
	}
	for step := 0; !r.done() && step < 500; step++ {
		var what, outcome string
		kind := r.byte() % 10
		switch kind {
		case 0, 1, 2, 3:
			b := r.byte()
			o := risk.Order{ID: ids(), Account: fuzzAccounts[b&1], Instrument: fuzzInsts[(b>>1)&3], Side: risk.Side((b >> 3) % 3)}
			o.Price, o.Qty = r.num(), r.num()
			what = fmt.Sprintf("Check(%+v)", o)
			before := reported.Load()
			d := e.Check(ctx, o)
			outcome = fmt.Sprintf("%+v", d)
			ref.anomalyHint = d.Reason == risk.ReasonSizeAnomaly
			ref.clockPanics = clock.panicking
			wantRule, wantReason := ref.check(o, clock.t)
			if d.Allowed != (wantReason == risk.ReasonNone) || d.Rule != wantRule || d.Reason != wantReason {
				return fmt.Errorf("step %d: %s = %+v, reference says %q %v", step, what, d, wantRule, wantReason)
			}
			if !d.Allowed && d.Message == "" {
				return fmt.Errorf("step %d: %s: a rejection without a message", step, what)
			}
			// A panic comes back exactly when a callback panicked: a rule or
			// the clock (ReasonPanic), or the user Reserver's Release when a
			// rule after it rejected.
			releasePanic := o.Price%97 == 14 && (wantRule == "late" || wantRule == "daily-notional")
			wantPanic := wantReason == risk.ReasonPanic || releasePanic
			if isPanic(d.Err()) != wantPanic || (d.Panic != nil) != wantPanic || (reported.Load() > before) != wantPanic {
				return fmt.Errorf("step %d: %s = %+v: panic in the decision %v, reported %v, want %v",
					step, what, d, isPanic(d.Err()), reported.Load() > before, wantPanic)
			}
			if d.Allowed {
				if err := limitsHold(e, ref, o); err != nil {
					return fmt.Errorf("step %d: %s allowed: %v", step, what, err)
				}
			}
		case 4, 5:
			id, qty, price := ids(), r.num(), r.num()
			what = fmt.Sprintf("Fill(%d, %d, %d)", id, qty, price)
			var acct string
			var p int64
			if op := ref.open[id]; op != nil {
				acct, p = op.o.Account, op.o.Price
			}
			u0, r0 := e.DailyState(acct)
			err := e.Fill(id, qty, price)
			outcome = fmt.Sprint(err)
			var want error
			wantPanic := false
			if qty > 0 && price > 0 && qty <= risk.MaxQty && clock.panicking {
				wantPanic = true // the clock, before anything changes
			} else if want = ref.fill(id, qty, price, clock.t); want == nil && p%97 == 15 {
				wantPanic = true // the user Reserver, after the fill
			}
			switch {
			case wantPanic:
				if !isPanic(err) {
					return fmt.Errorf("step %d: %s = %v, want a *panics.Error", step, what, err)
				}
			case (err == nil) != (want == nil) || (want != nil && !errors.Is(err, want)):
				return fmt.Errorf("step %d: %s = %v, reference says %v", step, what, err, want)
			}
			if u1, r1 := e.DailyState(acct); u1+r1 > u0+r0 {
				return fmt.Errorf("step %d: %s took %s's used+reserved from %d to %d", step, what, acct, u0+r0, u1+r1)
			}
		case 6:
			id := ids()
			what = fmt.Sprintf("Release(%d)", id)
			wantPanic := ref.open[id] != nil && ref.open[id].o.Price%97 == 14
			err := e.Release(id)
			outcome = fmt.Sprint(err)
			ok := ref.release(id)
			switch {
			case wantPanic:
				if !isPanic(err) {
					return fmt.Errorf("step %d: %s = %v, want a *panics.Error", step, what, err)
				}
			case (err == nil) != ok || (err != nil && !errors.Is(err, risk.ErrUnknownOrder)):
				return fmt.Errorf("step %d: %s = %v, reference ok=%v", step, what, err, ok)
			}
		case 7:
			b := r.byte()
			next := r.config(mults)
			if b&1 != 0 { // the multipliers may not change
				next.Multipliers = map[string]int64{"A": 7}
			}
			what = fmt.Sprintf("SetConfig(%+v)", next)
			err := e.SetConfig(next)
			outcome = fmt.Sprint(err)
			changed := !maps.Equal(next.Multipliers, mults)
			switch {
			case err != nil && !errors.Is(err, risk.ErrInvalidConfig):
				return fmt.Errorf("step %d: %s: untyped error %v", step, what, err)
			case err == nil && changed:
				return fmt.Errorf("step %d: %s changed the multipliers", step, what)
			case err == nil:
				ref.cfg = cloneConfig(next)
				caller = next
			}
		case 8:
			b := r.byte()
			on := b&2 != 0
			what = fmt.Sprintf("kill %d %v", b, on)
			if b&1 != 0 {
				e.KillAll(on)
				ref.killedAll = on
			} else {
				a := fuzzAccounts[(b>>2)&1]
				e.Kill(a, on)
				ref.killed[a] = on
			}
		case 9:
			b := r.byte()
			switch b % 4 {
			case 0:
				inst, p := fuzzInsts[(b>>2)&3], r.num()
				what = fmt.Sprintf("SetReferencePrice(%s, %d)", inst, p)
				e.SetReferencePrice(inst, p)
				ref.refs[inst] = p
			case 1: // b>>2 from 32 on steps back (NTP), maybe across midnight
				step := fuzzSteps[int(b>>2)%len(fuzzSteps)]
				if b>>2 >= 32 {
					step = -step
				}
				what = fmt.Sprint("clock ", step)
				clock.t = clock.t.Add(step)
			case 2:
				clock.panicking = !clock.panicking
				what = fmt.Sprint("clock panicking ", clock.panicking)
			case 3: // the caller reuses the Config it passed for something else
				what = "caller changes its Config"
				if caller.Multipliers != nil {
					caller.Multipliers["A"] = 1
					caller.Multipliers["D"] = math.MaxInt64
					delete(caller.Multipliers, "B")
				}
				for i := range caller.Restricted {
					caller.Restricted[i] = "A"
				}
				if caller.Accounts != nil {
					caller.Accounts["x"] = risk.AccountLimits{DailyNotional: 1}
					delete(caller.Accounts, "y")
				}
			}
		}
		if trace != nil {
			trace(fmt.Sprintf("step %d: %s: %s", step, what, outcome))
		}
		if err := stateAgrees(e, ref, user); err != nil {
			return fmt.Errorf("step %d, after %s: %v", step, what, err)
		}
		for _, a := range fuzzAccounts {
			used, _ := e.DailyState(a)
			var day time.Time
			if d := ref.daily[a]; d != nil {
				day = d.day
			}
			if prev := last[a]; used < prev.used && day.Equal(prev.day) {
				return fmt.Errorf("step %d, after %s: %s's daily usage went down from %d to %d on one day", step, what, a, prev.used, used)
			}
			last[a] = usage{used, day}
		}
	}
	return nil
}

// limitsHold checks that an allowed order left its account within the
// daily notional and position limits in force. Only the order's own side
// of the position is bound: the other may be past a limit lowered since
// its orders were allowed (testdata/fuzz/FuzzEngine/50e8e6cffdfb4e78, a
// finding in this check, not in the engine), and a buy does not make a
// short worse.
func limitsHold(e *risk.Engine, ref *refEngine, o risk.Order) error {
	daily, position, _, _ := ref.account(o.Account)
	if used, reserved := e.DailyState(o.Account); daily > 0 && used+reserved > daily {
		return fmt.Errorf("daily notional used %d + reserved %d is over the limit %d", used, reserved, daily)
	}
	filled, buy, sell := e.PositionState(o.Account, o.Instrument)
	if position > 0 && ((o.Side == risk.Buy && filled+buy > position) || (o.Side == risk.Sell && filled-sell < -position)) {
		return fmt.Errorf("a %v leaves position %d with %d/%d open past the limit %d", o.Side, filled, buy, sell, position)
	}
	return nil
}

// stateAgrees compares the engine's state with the reference's and
// checks the engine's invariants.
func stateAgrees(e *risk.Engine, ref *refEngine, user *fuzzUser) error {
	if err := e.CheckInvariants(); err != nil {
		return err
	}
	if got := e.OpenOrders(); got != len(ref.open) {
		return fmt.Errorf("%d open orders, the reference has %d", got, len(ref.open))
	}
	var held int64
	for _, op := range ref.open {
		held += op.open
	}
	if got := user.held.Load(); got != held {
		return fmt.Errorf("the user Reserver holds %d, the open orders %d", got, held)
	}
	for _, a := range fuzzAccounts {
		var want refDaily
		if d := ref.daily[a]; d != nil {
			want = *d
		}
		if used, reserved := e.DailyState(a); used != want.used || reserved != want.reserved {
			return fmt.Errorf("%s: daily used %d, reserved %d; the reference has %d, %d", a, used, reserved, want.used, want.reserved)
		}
		for _, inst := range fuzzInsts {
			var want refPos
			if p := ref.pos[[2]string{a, inst}]; p != nil {
				want = *p
			}
			if filled, buy, sell := e.PositionState(a, inst); filled != want.filled || buy != want.openBuy || sell != want.openSell {
				return fmt.Errorf("%s in %s: position %d, open %d/%d; the reference has %+v", a, inst, filled, buy, sell, want)
			}
		}
	}
	return nil
}

// fuzzEnc writes inputs that runFuzz decodes, for the seed corpus.
type fuzzEnc struct{ b []byte }

func (w *fuzzEnc) byte(b byte) *fuzzEnc { w.b = append(w.b, b); return w }

// num writes v exactly (the eight-byte form).
func (w *fuzzEnc) num(v int64) *fuzzEnc {
	w.b = binary.BigEndian.AppendUint64(append(w.b, 255), uint64(v))
	return w
}

func index[T comparable](s []T, v T) byte {
	for i, x := range s {
		if x == v {
			return byte(i)
		}
	}
	panic(fmt.Sprintf("%v is not one of %v", v, s))
}

// config writes c; its rates, z, zone, Restricted and Accounts must be
// ones the decoder can produce.
func (w *fuzzEnc) config(c risk.Config) *fuzzEnc {
	var flags byte
	for i, on := range []bool{c.MaxOrderQty != 0, c.MaxOrderNotional != 0, c.PriceBandBps != 0, c.DailyNotional != 0,
		c.MaxPosition != 0, c.OrderRate != 0 || c.OrderBurst != 0, c.AnomalyZ != 0 || c.AnomalyWarmup != 0,
		c.TimeZone != "" || c.Restricted != nil || c.Accounts != nil} {
		if on {
			flags |= 1 << i
		}
	}
	w.byte(flags)
	for i, v := range []int64{c.MaxOrderQty, c.MaxOrderNotional, c.PriceBandBps, c.DailyNotional, c.MaxPosition} {
		if flags&(1<<i) != 0 {
			w.num(v)
		}
	}
	if flags&32 != 0 {
		w.byte(index(fuzzRates, c.OrderRate)).num(int64(c.OrderBurst))
	}
	if flags&64 != 0 {
		w.byte(index(fuzzZs, c.AnomalyZ)).byte(byte(c.AnomalyWarmup))
	}
	if flags&128 != 0 {
		more := index(fuzzZones, c.TimeZone)
		if c.Restricted != nil {
			more |= 4
		}
		y, ok := c.Accounts["y"]
		if ok {
			more |= 8
		}
		w.byte(more)
		if ok {
			w.num(y.DailyNotional).num(y.MaxPosition).byte(index(fuzzRates, y.OrderRate)).byte(byte(y.OrderBurst))
		}
	}
	return w
}

// start writes the multipliers of A and B and the first Config.
func (w *fuzzEnc) start(a, b int64, c risk.Config) *fuzzEnc { return w.num(a).num(b).config(c) }

// check writes a check of account x (or y), instrument inst, side.
func (w *fuzzEnc) check(id byte, account string, inst string, side risk.Side, price, qty int64) *fuzzEnc {
	return w.byte(0).byte(index(fuzzAccounts, account) | index(fuzzInsts, inst)<<1 | byte(side)<<3).byte(id).num(price).num(qty)
}

func (w *fuzzEnc) fill(id byte, qty, price int64) *fuzzEnc {
	return w.byte(4).byte(id).num(qty).num(price)
}

func (w *fuzzEnc) release(id byte) *fuzzEnc { return w.byte(6).byte(id) }

func (w *fuzzEnc) setConfig(c risk.Config) *fuzzEnc { return w.byte(7).byte(0).config(c) }

// misc writes op 9: 0 a reference price (then num), 1 the clock moving
// (step index in b>>2, back from 32 on), 2 the clock panicking or not, 3
// the caller changing its Config.
func (w *fuzzEnc) misc(b byte) *fuzzEnc { return w.byte(9).byte(b) }

// fuzzSeeds are the seed corpus: each case of issue 14, and the edges
// found since.
func fuzzSeeds() [][]byte {
	var seeds []*fuzzEnc
	add := func() *fuzzEnc { w := &fuzzEnc{}; seeds = append(seeds, w); return w }

	// 1: notional × multiplier overflows past both limits, one, none.
	add().start(100_000, 1, risk.Config{MaxOrderNotional: 1e9, DailyNotional: 1e9}).
		check(1, "x", "A", risk.Buy, 100_000, 1_000_000_000).check(2, "x", "A", risk.Buy, 1, 1)
	add().start(100_000, 1, risk.Config{DailyNotional: 1e9}).check(1, "x", "A", risk.Buy, 100_000, 1_000_000_000)
	add().start(math.MaxInt64, 1<<62, risk.Config{}).check(1, "x", "A", risk.Sell, 2, 1).check(2, "y", "B", risk.Buy, 1, 2)
	// 2: a fill at 2^62 on a sell that holds the whole daily limit.
	add().start(1, 1, risk.Config{DailyNotional: 1_000_000}).
		check(1, "x", "D", risk.Sell, 1_000, 1_000).fill(1, 1_000, 1<<62).check(2, "x", "D", risk.Buy, 1, 1).
		fill(1, 1_000, 1_000).check(3, "x", "D", risk.Buy, 1, 1)
	// 3: the caller changes its multipliers after New and after SetConfig.
	add().start(10, 1, risk.Config{DailyNotional: 1_000}).
		misc(3).check(1, "x", "A", risk.Buy, 10, 100).check(2, "x", "A", risk.Buy, 5, 10).release(2).
		setConfig(risk.Config{DailyNotional: 500, Restricted: []string{"C"}, Accounts: map[string]risk.AccountLimits{"y": {DailyNotional: 2}}}).
		misc(3).check(3, "x", "A", risk.Buy, 10, 10).check(4, "y", "C", risk.Buy, 1, 1)
	// 4: the user Reserver's Release panics when a later rule rejects
	// (price 111 = 14 mod 97); the same ID again; Fill panics (112 = 15).
	add().start(1, 1, risk.Config{DailyNotional: 1_000, MaxPosition: 10}).
		check(1, "x", "A", risk.Buy, 111, 9).check(1, "x", "A", risk.Buy, 112, 8).fill(1, 3, 100).release(1).
		check(2, "x", "A", risk.Buy, 110, 1).check(3, "x", "A", risk.Buy, 114, 1).check(4, "y", "B", risk.Sell, 111, 5).release(4)
	// 5: a buy filled above its limit price, a sell above (improvement).
	add().start(1, 1, risk.Config{DailyNotional: 1_000}).
		check(1, "x", "D", risk.Buy, 100, 10).fill(1, 10, 150).check(2, "x", "D", risk.Buy, 1, 1).
		check(3, "y", "D", risk.Sell, 100, 10).fill(3, 10, 150).check(4, "y", "D", risk.Sell, 1, 1)
	// The clock panics in a check and in a fill, then recovers.
	add().start(1, 1, risk.Config{OrderRate: 10, OrderBurst: 2}).
		check(1, "x", "A", risk.Buy, 5, 5).misc(2).check(2, "x", "A", risk.Buy, 5, 5).fill(1, 1, 5).misc(2).fill(1, 1, 5)
	// A negative reference price under a band.
	add().start(1, 1, risk.Config{PriceBandBps: 100}).
		misc(0|3<<2).num(-5).check(1, "x", "D", risk.Buy, 1_000, 1).misc(0|3<<2).num(1000).check(2, "x", "D", risk.Buy, 1_000, 1)
	// A burst tolerance of 8e18 ns: the next arrival time overflows.
	w := add().start(1, 1, risk.Config{OrderRate: 1e-9, OrderBurst: 9})
	for id := range byte(6) {
		w.check(id+1, "x", "D", risk.Buy, 1, 1).release(id + 1)
	}
	// A burst tolerance that does not fit: New refuses the Config.
	add().start(1, 1, risk.Config{OrderRate: 1e-9, OrderBurst: 100}).check(1, "x", "D", risk.Buy, 1, 1)
	// One size seen before the anomaly rule judges (warmup 1), and sizes
	// at MaxQty.
	add().start(1, 1, risk.Config{AnomalyZ: 3, AnomalyWarmup: 1}).
		check(1, "x", "D", risk.Buy, 1, 10).check(2, "x", "D", risk.Buy, 1, 14).check(3, "x", "D", risk.Buy, 1, risk.MaxQty).
		check(4, "x", "D", risk.Buy, 1, risk.MaxQty).release(4).check(5, "x", "D", risk.Buy, 1, 1)
	// Midnight, kill switches, a config swap that may not change the
	// multipliers, and a New that fails.
	add().start(2, 3, risk.Config{DailyNotional: 100, TimeZone: "Asia/Tokyo", MaxPosition: 5}).
		check(1, "x", "A", risk.Buy, 10, 5).fill(1, 5, 10).check(2, "x", "A", risk.Buy, 1, 1).
		misc(1|4<<2).check(3, "x", "A", risk.Buy, 10, 1).byte(8).byte(1|2).check(4, "y", "B", risk.Sell, 1, 1).byte(8).byte(1).
		byte(7).byte(1).config(risk.Config{}).check(5, "y", "B", risk.Sell, 1, 5)
	add().start(-1, 0, risk.Config{MaxOrderQty: -5}).check(1, "x", "A", risk.Buy, 1, 1)
	// The review: the clock steps back across midnight (from 06:00Z to
	// 23:00Z the day before, and on again) and the TimeZone changes, with
	// the day's limit spent: every order is rejected until the first
	// midnight in Tokyo after the day's start (15:00Z), then allowed.
	fwd7h, back7h := byte(1|4<<2), byte(1|34<<2)
	add().start(1, 1, risk.Config{DailyNotional: 1_000}).
		misc(fwd7h).misc(fwd7h).check(1, "x", "D", risk.Buy, 100, 10).fill(1, 10, 100).
		misc(back7h).check(2, "x", "D", risk.Buy, 100, 10).fill(2, 10, 100).
		misc(fwd7h).check(3, "x", "D", risk.Buy, 100, 10).
		setConfig(risk.Config{DailyNotional: 1_000, TimeZone: "Asia/Tokyo"}).check(4, "x", "D", risk.Buy, 1, 1).
		misc(fwd7h).check(5, "x", "D", risk.Buy, 1, 1).misc(fwd7h).check(6, "x", "D", risk.Buy, 1, 1)
	// An account's own rate with the default burst.
	add().start(1, 1, risk.Config{OrderRate: 10, OrderBurst: 3, TimeZone: "America/New_York",
		Accounts: map[string]risk.AccountLimits{"y": {OrderRate: 1_000}}}).
		check(1, "y", "D", risk.Buy, 1, 1).check(2, "y", "D", risk.Buy, 1, 1).check(3, "y", "D", risk.Buy, 1, 1).
		check(4, "y", "D", risk.Buy, 1, 1).misc(1|0<<2).check(5, "y", "D", risk.Buy, 1, 1)
	out := make([][]byte, len(seeds))
	for i, w := range seeds {
		out[i] = w.b
	}
	return out
}
