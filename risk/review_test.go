package risk_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/risk"
)

// Regression tests for an outside review that attacked the engine through
// its public API: each failed before its fix.

var (
	day1Late  = time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC)
	day2Early = time.Date(2026, 12, 4, 0, 0, 1, 0, time.UTC)
)

// stallClock is a settable clock that can stall one reading: the call
// that finds stall armed reads the time, signals stalled and waits for
// resume before it returns what it read, as a goroutine preempted between
// reading the clock and taking the account's lock would.
type stallClock struct {
	t       atomic.Int64
	stall   atomic.Bool
	stalled chan struct{}
	resume  chan struct{}
}

func newStallClock(t time.Time) *stallClock {
	c := &stallClock{stalled: make(chan struct{}), resume: make(chan struct{})}
	c.set(t)
	return c
}

func (c *stallClock) set(t time.Time) { c.t.Store(t.UnixNano()) }

func (c *stallClock) now() time.Time {
	v := c.t.Load()
	if c.stall.CompareAndSwap(true, false) {
		c.stalled <- struct{}{}
		<-c.resume
	}
	return time.Unix(0, v)
}

// fill fills o in full at its price, failing the test on an error.
func fill(t *testing.T, e *risk.Engine, o risk.Order) {
	t.Helper()
	if err := e.Fill(o.ID, o.Qty, o.Price); err != nil {
		t.Fatal(err)
	}
}

// TestStaleClockAtMidnightKeepsNewDayUsage (review 1): a check that read
// the clock just before midnight, and took the account's lock after a
// check of the new day, used to move the account back to the old day
// with nothing used, and then the new day's next check back again, so
// that the day's limit was spent twice. A stale reading now counts
// against the newer day. A user rule at 850 that blocks order 1 stands in
// for the preemption; Fill, which reads the clock before it takes the
// order, had the same flaw.
func TestStaleClockAtMidnightKeepsNewDayUsage(t *testing.T) {
	t.Run("check", func(t *testing.T) {
		clock := newStallClock(day1Late)
		entered, proceed := make(chan struct{}), make(chan struct{})
		first := order("a", 1, 1)
		block := ruleFunc("block", func(o risk.Order) risk.Verdict {
			if o.ID == first.ID {
				entered <- struct{}{}
				<-proceed
			}
			return risk.Allow
		})
		e := newEngine(t, risk.Config{DailyNotional: 1_000}, risk.WithClock(clock.now), risk.WithRule(850, block))
		var d1 risk.Decision
		var wg sync.WaitGroup
		wg.Go(func() { d1 = e.Check(context.Background(), first) }) // reads 23:59:59
		<-entered
		clock.set(day2Early)
		second := order("a", 10, 100) // the new day's whole limit
		expect(t, e, second, risk.ReasonNone)
		fill(t, e, second)
		close(proceed)
		wg.Wait()
		if d1.Allowed {
			if err := e.Release(first.ID); err != nil {
				t.Fatal(err)
			}
		} else if d1.Reason != risk.ReasonDailyNotional {
			t.Fatalf("the stale check: %+v", d1)
		}
		expect(t, e, order("a", 10, 100), risk.ReasonDailyNotional) // 2,000 against 1,000
		if used, _ := e.DailyState("a"); used != 1_000 {
			t.Fatalf("used %d on day 2, want 1,000", used)
		}
	})
	t.Run("fill", func(t *testing.T) {
		clock := newStallClock(day1Late)
		e := newEngine(t, risk.Config{DailyNotional: 1_000}, risk.WithClock(clock.now))
		late := order("a", 1, 10) // 10, checked on day 1
		expect(t, e, late, risk.ReasonNone)
		clock.stall.Store(true)
		var err error
		var wg sync.WaitGroup
		wg.Go(func() { err = e.Fill(late.ID, 1, 10) }) // reads 23:59:59
		<-clock.stalled
		clock.set(day2Early)
		second := order("a", 99, 10) // 990: with late's 10, the whole limit
		expect(t, e, second, risk.ReasonNone)
		fill(t, e, second)
		close(clock.resume)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if used, reserved := e.DailyState("a"); used != 1_000 || reserved != 0 {
			t.Fatalf("used %d, reserved %d on day 2; want 1,000 and 0", used, reserved)
		}
		expect(t, e, order("a", 10, 100), risk.ReasonDailyNotional)
	})
}

// TestClockStepsBackAcrossMidnight (review 2): a clock stepped back over
// midnight (NTP) used to reset the daily usage at each crossing, so that
// day 2, day 1, day 2 allowed three times the limit.
func TestClockStepsBackAcrossMidnight(t *testing.T) {
	clock := &fakeClock{}
	e := newEngine(t, risk.Config{DailyNotional: 1_000}, risk.WithClock(clock.now))
	allowed := 0
	for _, now := range []time.Time{day2Early, day1Late, day2Early, day1Late, day2Early} {
		clock.t = now
		o := order("a", 10, 100)
		if d := e.Check(context.Background(), o); d.Allowed {
			allowed++
			fill(t, e, o)
		} else if d.Reason != risk.ReasonDailyNotional {
			t.Fatalf("at %v: %+v", now, d)
		}
	}
	if allowed != 1 {
		t.Fatalf("%d orders of the whole daily limit allowed on one day", allowed)
	}
	clock.t = day2Early.Add(24 * time.Hour) // day 3: a new limit
	expect(t, e, order("a", 10, 100), risk.ReasonNone)
}

// TestTimeZoneChangeKeepsUsage (review 3): SetConfig with a new TimeZone
// used to forget the day's usage (the day's start differed, so the day
// looked new). Usage now stays until the first midnight in the new zone
// after the start of the account's day, and a new day starts there.
func TestTimeZoneChangeKeepsUsage(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) // a UTC day began at 00:00Z
	for _, tt := range []struct {
		zone string
		next time.Time // the first midnight there after 2026-12-04 00:00Z
	}{
		{"Asia/Tokyo", time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)},      // east: the new zone's day is under way
		{"America/New_York", time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)}, // west: already passed at 10:00Z
		{"", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},                 // the same zone again
	} {
		t.Run(tt.zone, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)}
			e := newEngine(t, risk.Config{DailyNotional: 1_000}, risk.WithClock(clock.now))
			spent := order("a", 10, 100)
			expect(t, e, spent, risk.ReasonNone)
			fill(t, e, spent)
			if err := e.SetConfig(risk.Config{DailyNotional: 1_000, TimeZone: tt.zone}); err != nil {
				t.Fatal(err)
			}
			clock.t = start
			if tt.next.Before(start) {
				clock.t = tt.next.Add(-time.Second)
			}
			expect(t, e, order("a", 1, 1), risk.ReasonDailyNotional)
			clock.t = tt.next
			expect(t, e, order("a", 10, 100), risk.ReasonNone)
		})
	}
}

// TestZeroEngineFailsClosed (review 4): the zero Engine used to allow
// every order (even with KillAll on), and to panic on an invalid order
// and on SetConfig; Fill reported a panicking clock. It must reject every
// order with ReasonNotConfigured and return ErrNotConfigured, never
// panic; so must a nil *Engine.
func TestZeroEngineFailsClosed(t *testing.T) {
	ctx := context.Background()
	for name, e := range map[string]*risk.Engine{"zero": new(risk.Engine), "nil": nil} {
		calls := []struct {
			method string
			call   func() error
		}{
			{"KillAll", func() error { e.KillAll(true); return nil }},
			{"Kill", func() error { e.Kill("a", true); return nil }},
			{"SetReferencePrice", func() error { e.SetReferencePrice("ESZ6", 1); return nil }},
			{"Check", func() error { return e.Check(ctx, order("a", 1, 1)).Err() }},
			{"Check(Order{})", func() error { return e.Check(ctx, risk.Order{}).Err() }},
			{"Fill", func() error { return e.Fill(1, 1, 1) }},
			{"Release", func() error { return e.Release(1) }},
			{"SetConfig", func() error { return e.SetConfig(risk.Config{}) }},
			{"SetConfig(invalid)", func() error { return e.SetConfig(risk.Config{MaxOrderQty: -1}) }},
			{"OpenOrders", func() error {
				if n := e.OpenOrders(); n != 0 {
					return errors.New("open orders")
				}
				return nil
			}},
			{"Check after all", func() error { return e.Check(ctx, order("b", 1, 1)).Err() }},
		}
		for _, c := range calls {
			var err error
			if p := panics.Try(func() error { err = c.call(); return nil }); p != nil {
				t.Errorf("%s Engine: %s panicked: %v", name, c.method, p)
				continue
			}
			var re *risk.RejectError
			switch c.method {
			case "Check", "Check(Order{})", "Check after all":
				if !errors.As(err, &re) || re.Reason != risk.ReasonNotConfigured || re.Message == "" {
					t.Errorf("%s Engine: %s = %v, want a rejection for ReasonNotConfigured", name, c.method, err)
				}
			case "Fill", "Release", "SetConfig", "SetConfig(invalid)":
				if !errors.Is(err, risk.ErrNotConfigured) {
					t.Errorf("%s Engine: %s = %v, want ErrNotConfigured", name, c.method, err)
				}
			default:
				if err != nil {
					t.Errorf("%s Engine: %s = %v", name, c.method, err)
				}
			}
		}
	}
	if s := risk.ReasonNotConfigured.String(); s != "engine not configured" {
		t.Errorf("ReasonNotConfigured.String() = %q", s)
	}
}

// goexitReserver is a user Reserver that holds each order's quantity and
// calls runtime.Goexit in Check, Release or Fill while told to.
type goexitReserver struct {
	held                  atomic.Int64
	inCheck, inRel, inFil atomic.Bool
}

func (r *goexitReserver) Name() string { return "goexit" }
func (r *goexitReserver) Check(_ context.Context, o risk.Order) risk.Verdict {
	if r.inCheck.Load() {
		runtime.Goexit()
	}
	r.held.Add(o.Qty)
	return risk.Allow
}
func (r *goexitReserver) Release(_ risk.Order, qty int64) {
	r.held.Add(-qty)
	if r.inRel.Load() {
		runtime.Goexit()
	}
}
func (r *goexitReserver) Fill(_ risk.Order, qty, _ int64) {
	r.held.Add(-qty)
	if r.inFil.Load() {
		runtime.Goexit()
	}
}

// onGoroutine runs f on a goroutine of its own and reports whether f
// returned (false: it called runtime.Goexit).
func onGoroutine(f func()) (returned bool) {
	done := make(chan bool)
	go func() {
		ok := false
		defer func() { done <- ok }()
		f()
		ok = true
	}()
	return <-done
}

// TestGoexitInCallbackReleasesAll (review 5): a user callback that calls
// runtime.Goexit (t.FailNow in a fake) ended the check with the order's
// ID taken and its reservations held for good, since panics.Try does not
// stop a Goexit. The goroutine still ends, but first every reservation is
// given back and the ID freed; in Fill and Release the other rules still
// record the fill or release.
func TestGoexitInCallbackReleasesAll(t *testing.T) {
	type setup struct {
		e     *risk.Engine
		early *goexitReserver // at priority 50: holds before the clock is read
		late  *goexitReserver // at priority 850
		clock *atomic.Bool    // the clock calls Goexit
		rule  *atomic.Bool    // the rule at 1000 rejects with a panic
		hand  *atomic.Bool    // the error handler calls Goexit
	}
	newSetup := func(t *testing.T) *setup {
		s := &setup{early: &goexitReserver{}, late: &goexitReserver{}, clock: new(atomic.Bool), rule: new(atomic.Bool), hand: new(atomic.Bool)}
		last := ruleFunc("last", func(risk.Order) risk.Verdict {
			if s.rule.Load() {
				panic("last exploded")
			}
			return risk.Allow
		})
		s.e = newEngine(t, risk.Config{DailyNotional: 1_000, MaxPosition: 10},
			risk.WithRule(50, s.early), risk.WithRule(850, s.late), risk.WithRule(1000, last),
			risk.WithClock(func() time.Time {
				if s.clock.Load() {
					runtime.Goexit()
				}
				return day2Early
			}),
			risk.WithErrorHandler(func(error) {
				if s.hand.Load() {
					runtime.Goexit()
				}
			}))
		return s
	}
	// nothingHeld requires that no order is open and nothing reserved,
	// and that o's ID and the whole limits are free again.
	nothingHeld := func(t *testing.T, s *setup, o risk.Order) {
		t.Helper()
		if n := s.e.OpenOrders(); n != 0 {
			t.Fatalf("%d orders open", n)
		}
		if _, reserved := s.e.DailyState("a"); reserved != 0 {
			t.Fatalf("%d daily notional still reserved", reserved)
		}
		if _, buy, _ := s.e.PositionState("a", "ESZ6"); buy != 0 || s.early.held.Load() != 0 || s.late.held.Load() != 0 {
			t.Fatalf("still held: position %d, user reservers %d and %d", buy, s.early.held.Load(), s.late.held.Load())
		}
		if err := s.e.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		*s.clock, *s.rule, *s.hand = atomic.Bool{}, atomic.Bool{}, atomic.Bool{}
		s.early.inCheck.Store(false)
		s.early.inRel.Store(false)
		s.late.inCheck.Store(false)
		s.late.inRel.Store(false)
		expect(t, s.e, o, risk.ReasonNone) // the same ID, the whole limits
		if err := s.e.Release(o.ID); err != nil {
			t.Fatal(err)
		}
	}
	for name, arm := range map[string]func(s *setup){
		"Rule.Check":       func(s *setup) { s.late.inCheck.Store(true) },
		"clock":            func(s *setup) { s.clock.Store(true) },
		"Reserver.Release": func(s *setup) { s.rule.Store(true); s.late.inRel.Store(true) },
		"both Releases":    func(s *setup) { s.rule.Store(true); s.late.inRel.Store(true); s.early.inRel.Store(true) },
		"error handler":    func(s *setup) { s.rule.Store(true); s.hand.Store(true) },
	} {
		t.Run("Check/"+name, func(t *testing.T) {
			s := newSetup(t)
			arm(s)
			o := order("a", 10, 100) // the whole daily and position limits
			if onGoroutine(func() { s.e.Check(context.Background(), o) }) {
				t.Fatal("Check returned: the callback did not call Goexit")
			}
			nothingHeld(t, s, o)
		})
	}
	t.Run("Fill/Reserver.Fill", func(t *testing.T) {
		s := newSetup(t)
		o := order("a", 10, 100)
		expect(t, s.e, o, risk.ReasonNone)
		s.early.inFil.Store(true)
		if onGoroutine(func() { _ = s.e.Fill(o.ID, 4, 90) }) {
			t.Fatal("Fill returned")
		}
		// Every rule recorded the fill: 360 used, 600 still reserved.
		if used, reserved := s.e.DailyState("a"); used != 360 || reserved != 600 {
			t.Fatalf("used %d, reserved %d; want 360 and 600", used, reserved)
		}
		if filled, buy, _ := s.e.PositionState("a", "ESZ6"); filled != 4 || buy != 6 || s.late.held.Load() != 6 {
			t.Fatalf("position %d with %d open, late reserver holds %d", filled, buy, s.late.held.Load())
		}
	})
	t.Run("Release/Reserver.Release", func(t *testing.T) {
		s := newSetup(t)
		o := order("a", 10, 100)
		expect(t, s.e, o, risk.ReasonNone)
		fill(t, s.e, risk.Order{ID: o.ID, Qty: 4, Price: 90})
		s.early.inRel.Store(true)
		if onGoroutine(func() { _ = s.e.Release(o.ID) }) {
			t.Fatal("Release returned")
		}
		if used, reserved := s.e.DailyState("a"); used != 360 || reserved != 0 || s.e.OpenOrders() != 0 {
			t.Fatalf("after Release: used %d, reserved %d, %d open", used, reserved, s.e.OpenOrders())
		}
		if _, buy, _ := s.e.PositionState("a", "ESZ6"); buy != 0 || s.late.held.Load() != 0 || s.early.held.Load() != 0 {
			t.Fatalf("after Release: position open %d, user reservers hold %d and %d", buy, s.early.held.Load(), s.late.held.Load())
		}
	})
}

// TestRulePriorityExtremes (review 6): rules were sorted by subtracting
// priorities, which wraps: a rule at math.MinInt ran last, after every
// built-in rule. It must run first, and one at math.MaxInt last.
func TestRulePriorityExtremes(t *testing.T) {
	first := ruleFunc("first", func(risk.Order) risk.Verdict { return risk.Verdict{Reason: risk.ReasonCustom} })
	var lastRan atomic.Bool
	last := ruleFunc("last", func(risk.Order) risk.Verdict { lastRan.Store(true); return risk.Allow })
	e := newEngine(t, risk.Config{MaxOrderQty: 1}, risk.WithRule(math.MaxInt, last), risk.WithRule(math.MinInt, first))
	e.KillAll(true)
	if d := e.Check(context.Background(), order("a", 1, 1)); d.Rule != "first" {
		t.Fatalf("the rule at math.MinInt did not run first: %+v", d)
	}
	e2 := newEngine(t, risk.Config{MaxOrderQty: 1}, risk.WithRule(math.MinInt, ruleFunc("ok", func(risk.Order) risk.Verdict { return risk.Allow })),
		risk.WithRule(math.MaxInt, last))
	expect(t, e2, order("a", 2, 1), risk.ReasonMaxQty)
	if lastRan.Load() {
		t.Fatal("the rule at math.MaxInt ran before the built-in rules")
	}
}

// TestAccountRateKeepsDefaultBurst (review 7): an account with its own
// OrderRate and no OrderBurst used to get a burst of 1, not the Config's
// OrderBurst ("a zero field there keeps the limit above").
func TestAccountRateKeepsDefaultBurst(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_000, 0)}
	e := newEngine(t, risk.Config{OrderRate: 1, OrderBurst: 3, Accounts: map[string]risk.AccountLimits{
		"fast": {OrderRate: 100}, "own": {OrderRate: 100, OrderBurst: 2}}}, risk.WithClock(clock.now))
	for _, tt := range []struct {
		account string
		burst   int
	}{{"fast", 3}, {"own", 2}, {"other", 3}} {
		for range tt.burst {
			expect(t, e, order(tt.account, 1, 1), risk.ReasonNone)
		}
		expect(t, e, order(tt.account, 1, 1), risk.ReasonRate)
	}
	clock.t = clock.t.Add(10 * time.Millisecond) // one interval at 100 a second
	expect(t, e, order("fast", 1, 1), risk.ReasonNone)
	expect(t, e, order("other", 1, 1), risk.ReasonRate)
}

// TestErrorHandlerRunsAfterRelease (review 8): the error handler used to
// run before the rejected check gave back its reservations, so a slow
// handler held the account's limits. It now runs once everything is
// given back and the ID is free.
func TestErrorHandlerRunsAfterRelease(t *testing.T) {
	var e *risk.Engine
	var calls atomic.Int64
	var seen [3]int64
	boom := ruleFunc("boom", func(risk.Order) risk.Verdict { panic("boom") })
	e = newEngine(t, risk.Config{DailyNotional: 1_000, MaxPosition: 10}, risk.WithRule(1000, boom),
		risk.WithErrorHandler(func(error) {
			calls.Add(1)
			_, seen[0] = e.DailyState("a")
			_, seen[1], _ = e.PositionState("a", "ESZ6")
			seen[2] = int64(e.OpenOrders())
		}))
	expect(t, e, order("a", 10, 100), risk.ReasonPanic)
	if calls.Load() != 1 || seen != [3]int64{} {
		t.Fatalf("the handler (%d calls) saw %d reserved, %d open to buy, %d orders open", calls.Load(), seen[0], seen[1], seen[2])
	}
}
