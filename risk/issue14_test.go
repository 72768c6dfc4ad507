package risk_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/risk"
)

// Regression tests for issue 14: each failed before the fix.

// TestIssue14OverflowingNotionalFailsClosed: price × quantity fits in an
// int64 but the notional with the multiplier does not. It used to count
// as 0 and pass any limit; it must reject with ReasonOverflow, whichever
// rules are on.
func TestIssue14OverflowingNotionalFailsClosed(t *testing.T) {
	big := func() risk.Order {
		o := order("a", 1_000_000_000, 100_000) // 1e14, × 100,000 = 1e19 > MaxInt64
		o.Instrument = "BIG"
		return o
	}
	mults := map[string]int64{"BIG": 100_000}
	for _, tt := range []struct {
		name string
		cfg  risk.Config
		rule string
	}{
		{"both limits", risk.Config{MaxOrderNotional: 1e9, DailyNotional: 1e9, Multipliers: mults}, "max-notional"},
		{"daily limit", risk.Config{DailyNotional: 1e9, Multipliers: mults}, "daily-notional"},
		{"no limit", risk.Config{Multipliers: mults}, "daily-notional"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, tt.cfg)
			d := expect(t, e, big(), risk.ReasonOverflow)
			if d.Rule != tt.rule {
				t.Errorf("rejected by %q, want %q: %+v", d.Rule, tt.rule, d)
			}
			if e.OpenOrders() != 0 {
				t.Errorf("%d orders open", e.OpenOrders())
			}
			if tt.cfg.DailyNotional > 0 { // nothing was reserved: the limit is whole
				ok := order("a", 1, 1_000_000_000)
				expect(t, e, ok, risk.ReasonNone)
			}
		})
	}
}

// TestIssue14HugeFillPriceRefused: a fill at a price near 2^62 used to be
// accepted and recorded as 0 usage, so later orders passed a spent daily
// limit. It must be refused with a typed error and change nothing.
func TestIssue14HugeFillPriceRefused(t *testing.T) {
	e := newEngine(t, risk.Config{DailyNotional: 1_000_000})
	sell := order("a", 1_000, 1_000) // the whole day's limit
	sell.Side = risk.Sell
	expect(t, e, sell, risk.ReasonNone)
	for _, price := range []int64{1 << 62, 1<<62 + 1, 1<<63 - 1} {
		if err := e.Fill(sell.ID, 1_000, price); !errors.Is(err, risk.ErrFillPrice) {
			t.Fatalf("Fill at %d = %v, want ErrFillPrice", price, err)
		}
		expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional) // still reserved
	}
	buy := order("b", 10, 100)
	expect(t, e, buy, risk.ReasonNone)
	if err := e.Fill(buy.ID, 10, 1<<62); !errors.Is(err, risk.ErrFillPrice) {
		t.Fatalf("buy Fill at 2^62 = %v, want ErrFillPrice", err)
	}
	// The real fill counts in full, and the limit stays spent.
	if err := e.Fill(sell.ID, 1_000, 1_000); err != nil {
		t.Fatal(err)
	}
	if used, reserved := e.DailyState("a"); used != 1_000_000 || reserved != 0 {
		t.Fatalf("used %d, reserved %d; want 1,000,000 and 0", used, reserved)
	}
	expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional)
}

// TestIssue14ConfigCopiedDeeply: the engine used to keep the caller's
// Multipliers map, so changing it changed the limits (an order 10x the
// limit passed, reservations went negative). New and SetConfig must copy
// every map and slice.
func TestIssue14ConfigCopiedDeeply(t *testing.T) {
	for _, viaSetConfig := range []bool{false, true} {
		mults := map[string]int64{"NQZ6": 10}
		restricted := []string{"CLF7"}
		accounts := map[string]risk.AccountLimits{"a": {DailyNotional: 1_000}}
		cfg := risk.Config{DailyNotional: 1_000_000, Multipliers: mults, Restricted: restricted, Accounts: accounts}
		e := newEngine(t, risk.Config{Multipliers: map[string]int64{"NQZ6": 10}})
		if viaSetConfig {
			if err := e.SetConfig(cfg); err != nil {
				t.Fatal(err)
			}
		} else {
			e = newEngine(t, cfg)
		}
		nq := func(qty, price int64) risk.Order {
			o := order("a", qty, price)
			o.Instrument = "NQZ6"
			return o
		}
		// The caller reuses its Config for something else.
		mults["NQZ6"] = 1
		restricted[0] = "ESZ6"
		accounts["a"] = risk.AccountLimits{DailyNotional: 1 << 40}
		expect(t, e, nq(100, 10), risk.ReasonDailyNotional) // 10,000: ten times a's limit
		first := nq(10, 5)                                  // 500 of a's 1,000
		expect(t, e, first, risk.ReasonNone)
		cl := order("b", 1, 1)
		cl.Instrument = "CLF7"
		expect(t, e, cl, risk.ReasonRestricted)
		expect(t, e, order("b", 1, 1), risk.ReasonNone) // ESZ6 is not restricted
		if err := e.Release(first.ID); err != nil {
			t.Fatal(err)
		}
		if used, reserved := e.DailyState("a"); used != 0 || reserved != 0 {
			t.Fatalf("viaSetConfig=%v: after the release, used %d and reserved %d, want 0 and 0", viaSetConfig, used, reserved)
		}
		expect(t, e, nq(20, 5), risk.ReasonNone)                             // 1,000: exactly a's limit
		expect(t, e, nq(1, 1), risk.ReasonDailyNotional)                     // 10 more
		if err := e.SetConfig(cfg); !errors.Is(err, risk.ErrInvalidConfig) { // cfg's multipliers changed since
			t.Errorf("SetConfig with changed multipliers = %v", err)
		}
	}
}

// panickyReserver is a user Reserver whose Release and Fill panic while
// armed, after doing their bookkeeping.
type panickyReserver struct {
	held  atomic.Int64
	armed atomic.Bool
}

func (r *panickyReserver) Name() string { return "panicky" }
func (r *panickyReserver) Check(_ context.Context, o risk.Order) risk.Verdict {
	r.held.Add(o.Qty)
	return risk.Allow
}
func (r *panickyReserver) Release(_ risk.Order, qty int64) {
	r.held.Add(-qty)
	if r.armed.Load() {
		panic("release exploded")
	}
}
func (r *panickyReserver) Fill(_ risk.Order, qty, _ int64) {
	r.held.Add(-qty)
	if r.armed.Load() {
		panic("fill exploded")
	}
}

// TestIssue14ReleasePanicReleasesAll: a user Reserver whose Release
// panicked when a later rule rejected used to crash Check, leave the
// order ID taken and the other reservations half released. The panic
// must come back as a *panics.Error, every reservation be released, and
// the ID be free for a retry.
func TestIssue14ReleasePanicReleasesAll(t *testing.T) {
	res := &panickyReserver{}
	res.armed.Store(true)
	var reject atomic.Bool
	reject.Store(true)
	later := ruleFunc("later", func(risk.Order) risk.Verdict {
		if reject.Load() {
			return risk.Verdict{Reason: risk.ReasonUser, Message: "not now"}
		}
		return risk.Allow
	})
	var reported atomic.Int64
	e := newEngine(t, risk.Config{DailyNotional: 1_000, MaxPosition: 10},
		risk.WithRule(850, res), risk.WithRule(1000, later),
		risk.WithErrorHandler(func(err error) {
			var pe *panics.Error
			if errors.As(err, &pe) && pe.Value == "release exploded" {
				reported.Add(1)
			}
		}))
	o := order("a", 10, 100) // the whole position and daily limit
	var d risk.Decision
	if err := panics.Try(func() error { d = e.Check(context.Background(), o); return nil }); err != nil {
		t.Fatalf("Check panicked: %v", err)
	}
	if d.Allowed || d.Rule != "later" || d.Reason != risk.ReasonUser {
		t.Fatalf("decision %+v, want the later rule's rejection", d)
	}
	var pe *panics.Error
	if !errors.As(d.Err(), &pe) || pe.Value != "release exploded" || reported.Load() != 1 {
		t.Fatalf("the panic is not in the decision (%v) or was reported %d times", d.Err(), reported.Load())
	}
	if used, reserved := e.DailyState("a"); used != 0 || reserved != 0 {
		t.Fatalf("daily notional used %d, reserved %d after the rejection", used, reserved)
	}
	if _, buy, sell := e.PositionState("a", "ESZ6"); buy != 0 || sell != 0 || res.held.Load() != 0 {
		t.Fatalf("position open %d/%d, user reserver holds %d after the rejection", buy, sell, res.held.Load())
	}
	// The same ID again, now that the later rule allows: a fresh check.
	reject.Store(false)
	expect(t, e, o, risk.ReasonNone)
	if e.OpenOrders() != 1 {
		t.Fatalf("%d open orders", e.OpenOrders())
	}
	// Fill and Release return a panic in the user Reserver; the others
	// still fill and release, and the order ends.
	if err := e.Fill(o.ID, 4, 100); !errors.As(err, &pe) || pe.Value != "fill exploded" {
		t.Fatalf("Fill = %v, want the *panics.Error", err)
	}
	if err := e.Release(o.ID); !errors.As(err, &pe) || pe.Value != "release exploded" {
		t.Fatalf("Release = %v, want the *panics.Error", err)
	}
	if used, reserved := e.DailyState("a"); used != 400 || reserved != 0 || e.OpenOrders() != 0 {
		t.Fatalf("used %d, reserved %d, %d open; want 400, 0, 0", used, reserved, e.OpenOrders())
	}

	// A panic in a user rule's Check rejects with ReasonPanic and gives
	// back what the rules before it reserved.
	boom := ruleFunc("boom", func(risk.Order) risk.Verdict { panic("check exploded") })
	e2 := newEngine(t, risk.Config{MaxPosition: 10}, risk.WithRule(850, &panickyReserver{}), risk.WithRule(860, boom))
	d = expect(t, e2, order("a", 10, 1), risk.ReasonPanic)
	if !errors.As(d.Err(), &pe) || pe.Value != "check exploded" || d.Rule != "boom" {
		t.Fatalf("decision %+v", d)
	}
	if _, buy, _ := e2.PositionState("a", "ESZ6"); buy != 0 {
		t.Fatalf("position still holds %d", buy)
	}
}

// TestIssue14FillAboveLimitPriceRefused: a buy filled above its limit
// price used to count in full (1,500 used against a 1,000 limit). It is
// refused with ErrFillPrice; a sell filled above its limit (price
// improvement) counts at its limit, so the limit holds either way.
func TestIssue14FillAboveLimitPriceRefused(t *testing.T) {
	e := newEngine(t, risk.Config{DailyNotional: 1_000})
	buy := order("a", 10, 100)
	expect(t, e, buy, risk.ReasonNone)
	if err := e.Fill(buy.ID, 10, 150); !errors.Is(err, risk.ErrFillPrice) {
		t.Fatalf("buy filled above its limit: %v, want ErrFillPrice", err)
	}
	if used, reserved := e.DailyState("a"); used != 0 || reserved != 1_000 {
		t.Fatalf("after the refused fill: used %d, reserved %d", used, reserved)
	}
	if err := e.Fill(buy.ID, 10, 90); err != nil { // below the limit: fine, counts 900
		t.Fatal(err)
	}
	if used, _ := e.DailyState("a"); used != 900 {
		t.Fatalf("used %d, want 900", used)
	}

	sell := order("b", 10, 100)
	sell.Side = risk.Sell
	expect(t, e, sell, risk.ReasonNone)
	if err := e.Fill(sell.ID, 5, 99); !errors.Is(err, risk.ErrFillPrice) {
		t.Fatalf("sell filled below its limit: %v, want ErrFillPrice", err)
	}
	if err := e.Fill(sell.ID, 10, 150); err != nil {
		t.Fatal(err)
	}
	if used, reserved := e.DailyState("b"); used != 1_000 || reserved != 0 {
		t.Fatalf("sell at 150 over a limit of 100: used %d, reserved %d; want 1,000 (at the limit) and 0", used, reserved)
	}
	expect(t, e, order("b", 1, 1), risk.ReasonDailyNotional)
}

// TestNonPositiveReferencePriceFailsClosed: a negative reference price
// used to pass every order through the price band (its uint64 product
// with the band was huge). Found while writing FuzzEngine's seeds.
func TestNonPositiveReferencePriceFailsClosed(t *testing.T) {
	e := newEngine(t, risk.Config{PriceBandBps: 100})
	for _, ref := range []int64{-5, 0, math.MinInt64} {
		e.SetReferencePrice("ESZ6", ref)
		expect(t, e, order("a", 1, 1_000), risk.ReasonNoReferencePrice)
	}
	e.SetReferencePrice("ESZ6", 1_000)
	expect(t, e, order("a", 1, 1_000), risk.ReasonNone)
	expect(t, e, order("a", 1, math.MaxInt64/2), risk.ReasonInvalidOrder)
	expect(t, e, order("a", 1, risk.MaxNotional), risk.ReasonPriceBand)
}

// namePanics is a user rule whose Name panics.
type namePanics struct{ funcRule }

func (namePanics) Name() string { panic("no name") }

// TestPanickingNameAndHandler: a user rule's Name runs under panics in
// New, and an error handler that panics does not take Check down.
func TestPanickingNameAndHandler(t *testing.T) {
	_, err := risk.New(risk.Config{}, risk.WithRule(1, namePanics{}))
	var pe *panics.Error
	if !errors.As(err, &pe) || pe.Value != "no name" {
		t.Fatalf("New with a panicking Name = %v, want the *panics.Error", err)
	}
	boom := ruleFunc("boom", func(risk.Order) risk.Verdict { panic("check exploded") })
	e := newEngine(t, risk.Config{}, risk.WithRule(1, boom), risk.WithErrorHandler(func(error) { panic("handler exploded") }))
	o := order("a", 1, 1)
	var d risk.Decision
	if err := panics.Try(func() error { d = e.Check(context.Background(), o); return nil }); err != nil {
		t.Fatalf("Check panicked: %v", err)
	}
	if d.Reason != risk.ReasonPanic || !errors.As(d.Err(), &pe) || pe.Value != "check exploded" {
		t.Fatalf("decision %+v", d)
	}
}
