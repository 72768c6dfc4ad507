package risk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/otlpgo/otlpgo/panics"
)

// MaxQty and MaxNotional bound one order, so that an account's sums of
// quantities and notionals stay exact: an order above either is invalid.
const (
	MaxQty      = 1 << 40
	MaxNotional = 1 << 52
)

var (
	// ErrUnknownOrder is returned by Fill and Release for an ID that no
	// allowed, still open order has.
	ErrUnknownOrder = errors.New("risk: no open order has this ID")
	// ErrOverfill is returned by Fill for a quantity that is not positive
	// or is more than the order has open, or a price that is not positive.
	ErrOverfill = errors.New("risk: fill does not fit the open order")
	// ErrFillPrice is returned by Fill for a price a limit order cannot
	// trade at: a buy above its limit price, a sell below it, or a price
	// whose notional with the quantity (price × quantity) is over
	// MaxNotional. Such a fill is a bug upstream; counting it would take
	// the account past limits the check enforced, so nothing changes.
	ErrFillPrice = errors.New("risk: fill price is through the order's limit")
	// ErrNotConfigured is returned by Fill, Release and SetConfig on an
	// Engine that New did not make (the zero Engine, or a nil *Engine):
	// it has no rules, so it can neither check nor account for anything.
	ErrNotConfigured = errors.New("risk: the engine was not made by risk.New")
)

// Engine checks orders against rules run in priority order, reserving
// what reserving rules hold until each allowed order ends. It is safe for
// concurrent use by multiple goroutines; per-account state is split into
// independently locked shards, so checks for different accounts seldom
// contend, and those for one account are exact: concurrent checks never
// together exceed a limit.
//
// The built-in rules, by priority: kill switch (100), restricted
// instruments (200), maximum order quantity (300) and notional (400),
// price band (500), order rate (600), order size anomaly (700), position
// (800) and daily notional (900). Limits come from a Config, replaced
// with SetConfig while checks run (a check that overlaps the swap may see
// some rules' old limits and others' new ones).
//
// Checks are not spans unless WithCheckSpans(true): a rejection adds an
// event to the caller's span and counts in risk.rejections by rule and
// reason. Measured here (BenchmarkCheck, AMD EPYC), a check with every
// rule on and the order's release cost ~0.5-0.6 µs on one core, and
// allocate nothing when the order is allowed.
//
// Every user callback (a Rule's Name and Check, a Reserver's Release and
// Fill, the clock, the error handler) runs under package panics: a panic
// is a *panics.Error, never a crash, and never leaves an order ID taken
// or a reservation half given back. Arithmetic on the caller's numbers is
// overflow-checked and fails closed (ReasonOverflow). A user callback
// that calls runtime.Goexit (t.FailNow in a test's fake) ends the calling
// goroutine, which nothing can prevent, but not before the engine has
// given back what the call held: a check's reservations and order ID, the
// other rules' share of a fill or release.
//
// The zero Engine (and a nil *Engine) fails closed: it rejects every
// order with ReasonNotConfigured, and Fill, Release and SetConfig return
// ErrNotConfigured. Use New. An Engine must not be copied after first
// use.
type Engine struct {
	cfg   atomic.Pointer[compiled]
	rules []ruleEntry // by priority; immutable after New
	open  openOrders
	kill  killSwitch
	refs  refPrices
	clock func() int64 // the user's clock: call it through now
	inst  *instrumentation
	opts  config
}

type ruleEntry struct {
	priority int
	name     string // Name(), read once in New
	rule     Rule
	reserver Reserver      // rule as a Reserver, or nil
	clocked  clocked       // a built-in rule that needs the time, or nil
	filler   clockedFiller // a built-in Reserver whose fills need the time, or nil
	user     bool          // a user rule: run it under panics
}

// New returns an engine with the built-in rules configured by cfg and any
// user rules given with WithRule. It returns an error wrapping
// ErrInvalidConfig if cfg does not validate, and the *panics.Error if a
// user rule's Name panics. The engine keeps a deep copy of cfg: changing
// cfg's maps or slices afterwards changes nothing in it.
func New(cfg Config, opts ...Option) (*Engine, error) {
	c, err := compile(&cfg)
	if err != nil {
		return nil, err
	}
	o := newConfig(opts)
	e := &Engine{opts: o}
	e.clock = func() int64 { return o.clock().UnixNano() }
	e.cfg.Store(c)
	l := limits{&e.cfg}
	days := &dayClock{}
	builtins := []Rule{
		&e.kill,
		restricted{l},
		maxQty{l},
		maxNotional{l},
		priceBand{l, &e.refs},
		orderRate{l, e.clock, newTable[string, rateState](hashString)},
		sizeAnomaly{l, newTable[string, welford](hashString)},
		position{l, newTable[posKey, positionState](hashPosKey)},
		dailyNotional{l, e.clock, days, newTable[string, dailyState](hashString)},
	}
	for i, r := range builtins {
		e.rules = append(e.rules, entry(100*(i+1), r, r.Name(), false))
	}
	for _, ur := range o.rules {
		var name string
		if err := panics.Try(func() error { name = ur.rule.Name(); return nil }); err != nil {
			return nil, fmt.Errorf("risk: the Name of the user rule at priority %d: %w", ur.priority, err)
		}
		e.rules = append(e.rules, entry(ur.priority, ur.rule, name, true))
	}
	// cmp.Compare, not a subtraction, which wraps for priorities far apart
	// (math.MinInt would sort last).
	slices.SortStableFunc(e.rules, func(a, b ruleEntry) int { return cmp.Compare(a.priority, b.priority) })
	if e.inst, err = newInstrumentation(o); err != nil {
		return nil, err
	}
	return e, nil
}

func entry(priority int, r Rule, name string, user bool) ruleEntry {
	rs, _ := r.(Reserver)
	e := ruleEntry{priority: priority, name: name, rule: r, reserver: rs, user: user}
	if !user {
		e.clocked, _ = r.(clocked)
		e.filler, _ = r.(clockedFiller)
	}
	return e
}

// now reads the user's clock, turning a panic into a *panics.Error.
func (e *Engine) now() (now int64, err error) {
	defer panics.Recover(&err)
	return e.clock(), nil
}

// report gives err to the error handler. A panic in the handler is
// dropped: there is nowhere left to report it, and the call that owns
// err has already been answered.
func (e *Engine) report(err error) {
	_ = panics.Try(func() error { e.opts.errorHandler(err); return nil })
}

// SetConfig replaces the limits while checks go on. Reservations, usage,
// positions and rate state carry over. It returns an error wrapping
// ErrInvalidConfig, and changes nothing, if cfg does not validate or
// changes Multipliers (which would make open reservations inexact). Like
// New, it keeps a deep copy of cfg, sharing no map or slice with it. On
// an Engine New did not make it returns ErrNotConfigured.
//
// A new TimeZone moves day boundaries, not usage: an account's daily
// notional used so far stays counted until the first midnight in the new
// zone after the start of the account's current day, and a new day (in
// the new zone) starts then.
func (e *Engine) SetConfig(cfg Config) error {
	if e == nil || e.cfg.Load() == nil {
		return ErrNotConfigured
	}
	c, err := compile(&cfg)
	if err != nil {
		return err
	}
	if old := e.cfg.Load(); !mapsEqual(old.cfg.Multipliers, cfg.Multipliers) {
		return fmt.Errorf("%w: Multipliers cannot change while the engine runs", ErrInvalidConfig)
	}
	e.cfg.Store(c)
	return nil
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// SetReferencePrice sets the price an instrument's price band centres
// on, such as its last trade or mid price. It is safe to call as often
// as prices move. A price that is not positive is no reference price:
// while a band is set, the instrument's orders are then rejected with
// ReasonNoReferencePrice.
func (e *Engine) SetReferencePrice(instrument string, price int64) {
	if e == nil {
		return
	}
	e.refs.set(instrument, price)
}

// Kill turns an account's kill switch on (true) or off: while on, every
// order of the account is rejected.
func (e *Engine) Kill(account string, on bool) {
	if e == nil {
		return
	}
	e.kill.kill(account, on)
}

// KillAll turns the global kill switch on (true) or off: while on, every
// order is rejected.
func (e *Engine) KillAll(on bool) {
	if e == nil {
		return
	}
	e.kill.all.Store(on)
}

// Check runs the order through the rules in priority order and returns
// the first rejection, or an allowed decision. An allowed order holds its
// reservations until Fill has filled all of it or Release ends it; a
// rejected one holds nothing, whatever rules before the rejecting one
// reserved being released, and its ID is free again.
//
// A rule whose arithmetic overflows rejects with ReasonOverflow. A user
// callback that panics (a Rule's Check, the clock) rejects with
// ReasonPanic; a Reserver's Release that panics while a rejection is
// given back does not stop the others'. Either way the *panics.Error
// goes to the error handler and to Decision.Panic, once everything the
// check reserved has been given back. A callback that calls
// runtime.Goexit ends the goroutine without a decision, after the check
// has given back everything it reserved and freed the order's ID.
//
// On an Engine New did not make, Check rejects every order with
// ReasonNotConfigured.
func (e *Engine) Check(ctx context.Context, o Order) Decision {
	if e == nil || e.cfg.Load() == nil {
		return Decision{Rule: "engine", Reason: ReasonNotConfigured,
			Message: "the engine was not made by risk.New: it checks nothing, so it allows nothing"}
	}
	if e.opts.spans {
		var end func()
		ctx, end = e.inst.startCheck(ctx, &o)
		defer end()
	}
	if v := validate(&o); v.Reason != ReasonNone {
		return e.rejected(ctx, &o, "order", v, nil)
	}
	if !e.open.claim(o.ID) {
		return e.rejected(ctx, &o, "order", Verdict{ReasonDuplicateID, fmt.Sprintf("order %d is already open", o.ID)}, nil)
	}
	// held is how many rules, from the first, may hold a reservation for
	// the order; claimed, whether its ID is still claimed. Both are zero
	// once the check returns. If a callback calls runtime.Goexit, the
	// check never returns: the deferred call gives back what is held and
	// frees the ID while the goroutine ends (a flag checked in a defer,
	// as panics.Guard does, without its allocations on this path).
	held, claimed := 0, true
	defer func() {
		if held > 0 || claimed {
			e.abandon(&o, &held, &claimed)
		}
	}()
	var now int64 // read once, when the first rule needs it
	var clocked bool
	for i := range e.rules {
		r := &e.rules[i]
		var v Verdict
		var p error
		switch {
		case r.user:
			v, p = e.checkUser(ctx, r, o)
		case r.clocked != nil:
			if !clocked {
				now, p = e.now()
				clocked = p == nil
			}
			if p != nil {
				v = Verdict{ReasonPanic, "the clock panicked: " + p.Error()}
				p = fmt.Errorf("risk: the clock panicked on order %d: %w", o.ID, p)
			} else {
				v = r.clocked.checkAt(o, now)
			}
		default:
			v = r.rule.Check(ctx, o)
		}
		if v.Reason == ReasonNone {
			held = i + 1
			continue
		}
		// Give back what every earlier rule reserved, whatever any one
		// Release does, and free the ID; only then tell the error
		// handler, which may be slow (or never return).
		var released []error
		for held > 0 {
			held--
			if err := e.release(held, o, o.Qty); err != nil {
				released = append(released, err)
			}
		}
		claimed = false
		e.open.drop(o.ID)
		if p != nil {
			e.report(p)
		}
		for _, err := range released {
			e.report(err)
		}
		if len(released) > 0 {
			p = errors.Join(append([]error{p}, released...)...)
		}
		return e.rejected(ctx, &o, r.name, v, p)
	}
	e.open.admit(&o)
	held, claimed = 0, false // the open order holds them now
	return Decision{Allowed: true}
}

// abandon gives back what the first *held rules reserved for o and frees
// its ID, for a check that never returns (a callback called
// runtime.Goexit). It runs in a deferred call while the goroutine ends,
// so it tells no one of panics (the error handler is user code); a
// Release that calls Goexit too does not stop the others', since abandon
// goes on from its own deferred call.
func (e *Engine) abandon(o *Order, held *int, claimed *bool) {
	defer func() {
		if *held > 0 || *claimed {
			e.abandon(o, held, claimed)
		}
	}()
	for *held > 0 {
		*held--
		_ = e.release(*held, *o, o.Qty)
	}
	if *claimed {
		*claimed = false
		e.open.drop(o.ID)
	}
}

// release gives back qty of what rule i holds for o, if it reserves. A
// user Reserver runs under panics: its panic comes back as an error
// naming the rule and order.
func (e *Engine) release(i int, o Order, qty int64) error {
	r := &e.rules[i]
	switch {
	case r.reserver == nil:
		return nil
	case !r.user:
		r.reserver.Release(o, qty)
		return nil
	}
	if err := panics.Try(func() error { r.reserver.Release(o, qty); return nil }); err != nil {
		return fmt.Errorf("risk: rule %s panicked releasing order %d: %w", r.name, o.ID, err)
	}
	return nil
}

// fill records qty at price of o in rule i, if it reserves; now is the
// time read for the fill. A user Reserver runs under panics, as in
// release.
func (e *Engine) fill(i int, o Order, qty, price, now int64) error {
	r := &e.rules[i]
	switch {
	case r.reserver == nil:
		return nil
	case r.filler != nil:
		r.filler.fillAt(o, qty, price, now)
		return nil
	case !r.user:
		r.reserver.Fill(o, qty, price)
		return nil
	}
	if err := panics.Try(func() error { r.reserver.Fill(o, qty, price); return nil }); err != nil {
		return fmt.Errorf("risk: rule %s panicked filling order %d: %w", r.name, o.ID, err)
	}
	return nil
}

// finish runs step for rules *next, *next+1, ... to the last, each once,
// for a Fill or Release whose loop a callback ended with runtime.Goexit:
// it runs in a deferred call while the goroutine ends, and goes on from
// its own deferred call if a step calls Goexit too. Panics are dropped:
// there is no caller left to return them to.
func (e *Engine) finish(next *int, step func(i int) error) {
	defer func() {
		if *next < len(e.rules) {
			e.finish(next, step)
		}
	}()
	for *next < len(e.rules) {
		i := *next
		*next++
		_ = step(i)
	}
}

func validate(o *Order) Verdict {
	bad := func(what string) Verdict { return Verdict{ReasonInvalidOrder, what} }
	switch {
	case o.ID == 0:
		return bad("order ID is zero")
	case o.Account == "" || o.Instrument == "":
		return bad("account or instrument is empty")
	case o.Side != Buy && o.Side != Sell:
		return bad("side is neither buy nor sell")
	case o.Price <= 0 || o.Qty <= 0:
		return bad("price and quantity must be positive")
	case o.Qty > MaxQty:
		return bad("quantity is over risk.MaxQty")
	}
	if n, ok := notional(o.Price, o.Qty, 1); !ok || n > MaxNotional {
		return bad("notional is over risk.MaxNotional")
	}
	return Allow
}

// checkUser runs a user rule. If it panics, the verdict rejects with
// ReasonPanic and err is the *panics.Error, wrapped with the rule's name.
func (e *Engine) checkUser(ctx context.Context, r *ruleEntry, o Order) (Verdict, error) {
	var v Verdict
	if err := panics.Try(func() error { v = r.rule.Check(ctx, o); return nil }); err != nil {
		return Verdict{ReasonPanic, "rule panicked: " + err.Error()},
			fmt.Errorf("risk: rule %s panicked on order %d: %w", r.name, o.ID, err)
	}
	if v.Reason != ReasonNone && v.Message == "" {
		v.Message = v.Reason.String()
	}
	return v, nil
}

// rejected builds a rejection, with the panics behind it if any (nil).
func (e *Engine) rejected(ctx context.Context, o *Order, rule string, v Verdict, panicked error) Decision {
	d := Decision{Rule: rule, Reason: v.Reason, Message: v.Message, Panic: panicked}
	e.inst.rejected(ctx, o, d)
	return d
}

// Fill records that qty of an allowed order traded at price: reserving
// rules turn that much of their reservation into use (a position; a
// daily notional at the lower of the fill and limit prices, so that a
// sell's price improvement counts at its limit and a fill never takes an
// account past a limit its check kept). When the order has no quantity
// left open it ends.
//
// Nothing changes when Fill returns ErrUnknownOrder, for an ID with no
// open order; ErrOverfill, for a non-positive quantity or price or one
// more than is open; ErrFillPrice, for a buy above its limit price, a
// sell below it, or a price × quantity over MaxNotional; or the
// *panics.Error of a clock that panicked; or ErrNotConfigured, on an
// Engine New did not make. A user Reserver whose Fill panics does not
// stop the fill: every other rule records it, the order's open quantity
// goes down, and Fill returns the *panics.Error (several joined with
// errors.Join). One that calls runtime.Goexit does not stop it either:
// the other rules record the fill while the goroutine ends.
func (e *Engine) Fill(id uint64, qty, price int64) error {
	if e == nil || e.cfg.Load() == nil {
		return ErrNotConfigured
	}
	if qty <= 0 || price <= 0 || qty > MaxQty {
		return fmt.Errorf("%w: quantity %d at price %d", ErrOverfill, qty, price)
	}
	now, err := e.now()
	if err != nil {
		return fmt.Errorf("risk: the clock panicked filling order %d: %w", id, err)
	}
	o, _, err := e.open.take(id, qty, price)
	if err != nil {
		return err
	}
	// next is the next rule to record the fill: if a user Reserver's Fill
	// calls runtime.Goexit, the deferred call has the rules after it
	// record the fill while the goroutine ends.
	next := 0
	defer func() {
		if next < len(e.rules) {
			e.finish(&next, func(i int) error { return e.fill(i, o, qty, price, now) })
		}
	}()
	var perr error
	for next < len(e.rules) {
		i := next
		next++
		if err := e.fill(i, o, qty, price, now); err != nil {
			perr = errors.Join(perr, err)
		}
	}
	return perr
}

// Release ends an allowed order that will not fill further (cancelled,
// expired or rejected downstream): reserving rules release what they
// still hold for its open quantity. It returns ErrUnknownOrder for an ID
// with no open order, and ErrNotConfigured on an Engine New did not
// make. A user Reserver whose Release panics does not stop the others':
// the order ends, and Release returns the *panics.Error (several joined
// with errors.Join). One that calls runtime.Goexit does not either: the
// others release while the goroutine ends.
func (e *Engine) Release(id uint64) error {
	if e == nil || e.cfg.Load() == nil {
		return ErrNotConfigured
	}
	o, rest, err := e.open.take(id, -1, 0)
	if err != nil {
		return err
	}
	next := 0 // as in Fill
	defer func() {
		if next < len(e.rules) {
			e.finish(&next, func(i int) error { return e.release(i, o, rest) })
		}
	}()
	var perr error
	for next < len(e.rules) {
		i := next
		next++
		if err := e.release(i, o, rest); err != nil {
			perr = errors.Join(perr, err)
		}
	}
	return perr
}

// OpenOrders returns how many allowed orders are still open.
func (e *Engine) OpenOrders() int {
	if e == nil {
		return 0
	}
	return e.open.count()
}
