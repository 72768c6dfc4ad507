package risk_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/risk"
)

// newEngine returns an engine and checks its invariants when the test
// ends.
func newEngine(t *testing.T, cfg risk.Config, opts ...risk.Option) *risk.Engine {
	t.Helper()
	e, err := risk.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.CheckInvariants(); err != nil {
			t.Errorf("invariants after the test: %v", err)
		}
	})
	return e
}

var nextTestID atomic.Uint64

// order returns a valid buy order of qty at price with a fresh ID.
func order(account string, qty, price int64) risk.Order {
	return risk.Order{ID: nextTestID.Add(1), Account: account, Instrument: "ESZ6", Side: risk.Buy, Price: price, Qty: qty}
}

func expect(t *testing.T, e *risk.Engine, o risk.Order, want risk.Reason) risk.Decision {
	t.Helper()
	d := e.Check(context.Background(), o)
	if d.Reason != want || d.Allowed != (want == risk.ReasonNone) {
		t.Fatalf("Check(%+v) = %+v, want %q", o, d, want)
	}
	return d
}

func TestPerOrderLimitsAtTheEdge(t *testing.T) {
	e := newEngine(t, risk.Config{MaxOrderQty: 10, MaxOrderNotional: 1_000, Multipliers: map[string]int64{"NQZ6": 3}})
	expect(t, e, order("a", 10, 100), risk.ReasonNone)        // at both limits
	expect(t, e, order("a", 11, 1), risk.ReasonMaxQty)        // one lot over
	expect(t, e, order("a", 10, 101), risk.ReasonMaxNotional) // notional 1,010
	nq := order("a", 4, 84)                                   // 4 × 84 × 3 = 1,008
	nq.Instrument = "NQZ6"
	d := expect(t, e, nq, risk.ReasonMaxNotional)
	if d.Rule != "max-notional" || !strings.Contains(d.Message, "1008") {
		t.Errorf("decision %+v does not name the rule and the notional", d)
	}
	if err := d.Err(); !strings.Contains(err.Error(), "max-notional") {
		t.Errorf("Err() = %v", err)
	}
	var re *risk.RejectError
	if !errors.As(d.Err(), &re) || re.ErrorType() != "notional over limit" {
		t.Errorf("Err() is not a *RejectError with an error type: %v", d.Err())
	}
}

func TestInvalidOrders(t *testing.T) {
	e := newEngine(t, risk.Config{})
	good := order("a", 1, 1)
	for name, mutate := range map[string]func(*risk.Order){
		"zero ID":       func(o *risk.Order) { o.ID = 0 },
		"no account":    func(o *risk.Order) { o.Account = "" },
		"no instrument": func(o *risk.Order) { o.Instrument = "" },
		"bad side":      func(o *risk.Order) { o.Side = 3 },
		"zero price":    func(o *risk.Order) { o.Price = 0 },
		"negative qty":  func(o *risk.Order) { o.Qty = -1 },
		"huge qty":      func(o *risk.Order) { o.Qty = risk.MaxQty + 1 },
		"huge notional": func(o *risk.Order) { o.Qty, o.Price = risk.MaxQty, 1<<20 },
		"overflowing":   func(o *risk.Order) { o.Qty, o.Price = 1<<40, 1<<40 },
	} {
		o := good
		o.ID = nextTestID.Add(1)
		mutate(&o)
		if d := e.Check(context.Background(), o); d.Reason != risk.ReasonInvalidOrder || d.Rule != "order" {
			t.Errorf("%s: %+v", name, d)
		}
	}
	if e.OpenOrders() != 0 {
		t.Fatal("an invalid order is open")
	}
}

func TestDuplicateIDAndLifecycleErrors(t *testing.T) {
	e := newEngine(t, risk.Config{})
	o := order("a", 5, 10)
	expect(t, e, o, risk.ReasonNone)
	expect(t, e, o, risk.ReasonDuplicateID)
	if err := e.Fill(o.ID, 6, 10); !errors.Is(err, risk.ErrOverfill) {
		t.Errorf("overfill: %v", err)
	}
	if err := e.Fill(o.ID, 2, 0); !errors.Is(err, risk.ErrOverfill) {
		t.Errorf("zero price: %v", err)
	}
	if err := e.Fill(o.ID+1000, 1, 10); !errors.Is(err, risk.ErrUnknownOrder) {
		t.Errorf("unknown: %v", err)
	}
	if err := e.Fill(o.ID, 5, 10); err != nil {
		t.Fatal(err)
	}
	// Filled in full: it has ended, and its ID is free again.
	if err := e.Release(o.ID); !errors.Is(err, risk.ErrUnknownOrder) {
		t.Errorf("release after a full fill: %v", err)
	}
	expect(t, e, o, risk.ReasonNone)
}

func TestKillSwitches(t *testing.T) {
	e := newEngine(t, risk.Config{})
	e.Kill("a", true)
	expect(t, e, order("a", 1, 1), risk.ReasonAccountKilled)
	expect(t, e, order("b", 1, 1), risk.ReasonNone)
	e.KillAll(true)
	expect(t, e, order("b", 1, 1), risk.ReasonAllKilled)
	e.KillAll(false)
	e.Kill("a", false)
	e.Kill("a", false) // twice is fine
	expect(t, e, order("a", 1, 1), risk.ReasonNone)
}

func TestRestrictedAndPriceBand(t *testing.T) {
	e := newEngine(t, risk.Config{Restricted: []string{"CLF7"}, PriceBandBps: 500}) // ±5%
	cl := order("a", 1, 100)
	cl.Instrument = "CLF7"
	expect(t, e, cl, risk.ReasonRestricted)
	expect(t, e, order("a", 1, 100), risk.ReasonNoReferencePrice) // fail closed
	e.SetReferencePrice("ESZ6", 2_000)
	expect(t, e, order("a", 1, 2_100), risk.ReasonNone) // +5% exactly
	expect(t, e, order("a", 1, 1_900), risk.ReasonNone) // -5% exactly
	expect(t, e, order("a", 1, 2_101), risk.ReasonPriceBand)
	expect(t, e, order("a", 1, 1_899), risk.ReasonPriceBand)
	e.SetReferencePrice("ESZ6", 2_101)
	expect(t, e, order("a", 1, 2_101), risk.ReasonNone)
}

func TestOrderRate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000, 0)}
	e := newEngine(t, risk.Config{OrderRate: 10, OrderBurst: 3}, risk.WithClock(clock.now))
	for range 3 { // the burst
		expect(t, e, order("a", 1, 1), risk.ReasonNone)
	}
	expect(t, e, order("a", 1, 1), risk.ReasonRate)
	expect(t, e, order("b", 1, 1), risk.ReasonNone) // per account
	clock.t = clock.t.Add(99 * time.Millisecond)
	expect(t, e, order("a", 1, 1), risk.ReasonRate)
	clock.t = clock.t.Add(time.Millisecond) // one interval: one more order
	expect(t, e, order("a", 1, 1), risk.ReasonNone)
	expect(t, e, order("a", 1, 1), risk.ReasonRate)
	clock.t = clock.t.Add(time.Hour) // idle: the burst again, not an hour's worth
	for range 3 {
		expect(t, e, order("a", 1, 1), risk.ReasonNone)
	}
	expect(t, e, order("a", 1, 1), risk.ReasonRate)
}

func TestSizeAnomaly(t *testing.T) {
	e := newEngine(t, risk.Config{AnomalyZ: 3, AnomalyWarmup: 5})
	sizes := []int64{10, 12, 8, 10, 10} // mean 10, sd √2 ≈ 1.41: 3 sd ≈ 14.2
	for _, q := range sizes {
		expect(t, e, order("a", q, 1), risk.ReasonNone)
	}
	expect(t, e, order("a", 15, 1), risk.ReasonSizeAnomaly)
	expect(t, e, order("a", 14, 1), risk.ReasonNone)
	expect(t, e, order("b", 1_000, 1), risk.ReasonNone) // b has no history yet
	// An account that always sends one size is judged against a floor of
	// one lot, not a zero deviation.
	for range 5 {
		expect(t, e, order("c", 7, 1), risk.ReasonNone)
	}
	expect(t, e, order("c", 10, 1), risk.ReasonNone)
	expect(t, e, order("c", 30, 1), risk.ReasonSizeAnomaly)
}

func TestPositionReservations(t *testing.T) {
	e := newEngine(t, risk.Config{MaxPosition: 100})
	b1 := order("a", 60, 1)
	expect(t, e, b1, risk.ReasonNone)
	expect(t, e, order("a", 41, 1), risk.ReasonPosition) // 60 open + 41 > 100
	b2 := order("a", 40, 1)
	expect(t, e, b2, risk.ReasonNone)
	// Filling turns open into position; cancelling gives it back.
	if err := e.Fill(b1.ID, 60, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Release(b2.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, e, order("a", 41, 1), risk.ReasonPosition) // position 60 + 41
	expect(t, e, order("a", 40, 1), risk.ReasonNone)
	// Sells may go down to -100 from +60 filled: 160 to sell.
	s := order("a", 160, 1)
	s.Side = risk.Sell
	expect(t, e, s, risk.ReasonNone)
	s2 := order("a", 1, 1)
	s2.Side = risk.Sell
	expect(t, e, s2, risk.ReasonPosition)
	// Per instrument: another instrument starts at zero.
	other := order("a", 100, 1)
	other.Instrument = "NQZ6"
	expect(t, e, other, risk.ReasonNone)
}

func TestDailyNotionalAcrossMidnight(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 20, 23, 59, 0, 0, ny)}
	e := newEngine(t, risk.Config{DailyNotional: 1_000, TimeZone: "America/New_York"}, risk.WithClock(clock.now))
	a := order("a", 5, 100) // 500
	expect(t, e, a, risk.ReasonNone)
	b := order("a", 5, 100)
	expect(t, e, b, risk.ReasonNone)
	expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional) // 1,000 used or open
	// Filled at a better price, the order uses less than it reserved.
	if err := e.Fill(a.ID, 5, 90); err != nil {
		t.Fatal(err)
	}
	expect(t, e, order("a", 1, 50), risk.ReasonNone) // 450 + 500 + 50 = 1,000
	expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional)
	// Midnight in New York (05:00 UTC): filled notional starts again; open
	// orders stay reserved (500 + 50).
	clock.t = time.Date(2026, 11, 21, 0, 0, 0, 0, ny)
	expect(t, e, order("a", 1, 450), risk.ReasonNone)
	expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional)
	// A later rule's rejection gives the reservation back.
	e2 := newEngine(t, risk.Config{DailyNotional: 100, Restricted: nil},
		risk.WithRule(1000, ruleFunc("always-no", func(risk.Order) risk.Verdict { return risk.Verdict{Reason: risk.ReasonCustom} })))
	for range 3 {
		d := expect(t, e2, order("z", 1, 100), risk.ReasonCustom)
		if d.Rule != "always-no" || d.Message == "" {
			t.Fatalf("user rule decision %+v", d)
		}
	}
}

// ruleFunc makes a Rule of a function.
type funcRule struct {
	name string
	f    func(risk.Order) risk.Verdict
}

func ruleFunc(name string, f func(risk.Order) risk.Verdict) risk.Rule { return funcRule{name, f} }

func (r funcRule) Name() string                                       { return r.name }
func (r funcRule) Check(_ context.Context, o risk.Order) risk.Verdict { return r.f(o) }

// countingReserver is a user Reserver that counts what it holds.
type countingReserver struct{ held atomic.Int64 }

func (r *countingReserver) Name() string { return "counting" }
func (r *countingReserver) Check(_ context.Context, o risk.Order) risk.Verdict {
	r.held.Add(o.Qty)
	return risk.Allow
}
func (r *countingReserver) Release(_ risk.Order, qty int64) { r.held.Add(-qty) }
func (r *countingReserver) Fill(_ risk.Order, qty, _ int64) { r.held.Add(-qty) }

func TestUserRulesPriorityReserversAndPanics(t *testing.T) {
	var ran []string
	first := ruleFunc("first", func(risk.Order) risk.Verdict { ran = append(ran, "first"); return risk.Allow })
	late := ruleFunc("late", func(o risk.Order) risk.Verdict {
		ran = append(ran, "late")
		if o.Qty == 13 {
			return risk.Verdict{Reason: risk.ReasonUser + 1, Message: "unlucky"}
		}
		return risk.Allow
	})
	var panicked atomic.Int64
	boom := ruleFunc("boom", func(o risk.Order) risk.Verdict {
		if o.Qty == 66 {
			panic("boom")
		}
		return risk.Allow
	})
	res := &countingReserver{}
	e := newEngine(t, risk.Config{MaxOrderQty: 100},
		risk.WithRule(2000, late), risk.WithRule(50, first), risk.WithRule(1500, res), risk.WithRule(1600, boom),
		risk.WithErrorHandler(func(err error) {
			var pe *panics.Error
			if errors.As(err, &pe) && pe.Value == "boom" && strings.Contains(string(pe.Stack), "rules_test.go") {
				panicked.Add(1)
			}
		}))
	expect(t, e, order("a", 5, 1), risk.ReasonNone)
	if strings.Join(ran, ",") != "first,late" {
		t.Errorf("user rules ran in order %v", ran)
	}
	d := expect(t, e, order("a", 13, 1), risk.ReasonUser+1)
	if d.Rule != "late" || d.Message != "unlucky" {
		t.Errorf("%+v", d)
	}
	d = expect(t, e, order("a", 66, 1), risk.ReasonPanic)
	var pe *panics.Error
	if d.Rule != "boom" || panicked.Load() != 1 || !errors.As(d.Err(), &pe) || pe.Value != "boom" {
		t.Errorf("panicking rule: %+v, %d reported", d, panicked.Load())
	}
	// The reserver holds only the allowed order's 5: the 13 and the 66
	// were given back when later rules rejected them.
	if res.held.Load() != 5 {
		t.Fatalf("user reserver holds %d, want 5", res.held.Load())
	}
	ran = nil
	expect(t, e, order("a", 101, 1), risk.ReasonMaxQty) // a built-in at 300 stops it before "late"
	if strings.Join(ran, ",") != "first" {
		t.Errorf("rules after the rejection ran: %v", ran)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]risk.Config{
		"negative qty":     {MaxOrderQty: -1},
		"negative band":    {PriceBandBps: -5},
		"NaN z":            {AnomalyZ: nan()},
		"bad zone":         {TimeZone: "Mars/Olympus"},
		"bad rate":         {OrderRate: -3},
		"huge rate":        {OrderRate: 1e12},
		"empty restricted": {Restricted: []string{""}},
		"zero multiplier":  {Multipliers: map[string]int64{"ESZ6": 0}},
		"account rate":     {Accounts: map[string]risk.AccountLimits{"a": {OrderRate: -1}}},
		"empty account":    {Accounts: map[string]risk.AccountLimits{"": {}}},
	} {
		if err := c.Validate(); !errors.Is(err, risk.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := risk.New(c); !errors.Is(err, risk.ErrInvalidConfig) {
			t.Errorf("%s: New = %v", name, err)
		}
	}
	var zero risk.Config
	if err := zero.Validate(); err != nil {
		t.Fatalf("the zero Config: %v", err)
	}
	e := newEngine(t, risk.Config{Multipliers: map[string]int64{"NQZ6": 2}})
	if err := e.SetConfig(risk.Config{Multipliers: map[string]int64{"NQZ6": 3}}); !errors.Is(err, risk.ErrInvalidConfig) {
		t.Errorf("SetConfig changing multipliers: %v", err)
	}
	if err := e.SetConfig(risk.Config{MaxOrderQty: -1}); !errors.Is(err, risk.ErrInvalidConfig) {
		t.Errorf("SetConfig invalid: %v", err)
	}
	if err := e.SetConfig(risk.Config{MaxOrderQty: 1, Multipliers: map[string]int64{"NQZ6": 2}}); err != nil {
		t.Fatal(err)
	}
	expect(t, e, order("a", 2, 1), risk.ReasonMaxQty) // the new limit applies at once
}

func TestNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for r := risk.ReasonInvalidOrder; r <= risk.ReasonPanic; r++ {
		if n := r.String(); n == "" || seen[n] {
			t.Errorf("reason %d: name %q empty or repeated", r, n)
		} else {
			seen[n] = true
		}
	}
	if risk.ReasonNone.String() != "" || risk.Reason(5000).String() != "reason 5000" {
		t.Error("ReasonNone or an unknown reason misnamed")
	}
	if risk.Buy.String() != "buy" || risk.Sell.String() != "sell" || risk.Side(0).String() != "invalid side" {
		t.Error("sides misnamed")
	}
}
