package risk

import (
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
// reason. Measured here (BenchmarkCheck), a check with every rule on and
// the order's release cost ~0.4-0.5 µs on one core, and allocate nothing
// when the order is allowed.
//
// Every user callback (a Rule's Name and Check, a Reserver's Release and
// Fill, the clock, the error handler) runs under package panics: a panic
// is a *panics.Error, never a crash, and never leaves an order ID taken
// or a reservation half given back. Arithmetic on the caller's numbers is
// overflow-checked and fails closed (ReasonOverflow).
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
	slices.SortStableFunc(e.rules, func(a, b ruleEntry) int { return a.priority - b.priority })
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
// New, it keeps a deep copy of cfg, sharing no map or slice with it.
func (e *Engine) SetConfig(cfg Config) error {
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
	e.refs.set(instrument, price)
}

// Kill turns an account's kill switch on (true) or off: while on, every
// order of the account is rejected.
func (e *Engine) Kill(account string, on bool) { e.kill.kill(account, on) }

// KillAll turns the global kill switch on (true) or off: while on, every
// order is rejected.
func (e *Engine) KillAll(on bool) { e.kill.all.Store(on) }

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
// goes to the error handler and to Decision.Panic.
func (e *Engine) Check(ctx context.Context, o Order) Decision {
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
		if v.Reason != ReasonNone {
			if p != nil {
				e.report(p)
			}
			// Give back what every earlier rule reserved, whatever any
			// one Release does.
			for j := i - 1; j >= 0; j-- {
				rj := &e.rules[j]
				if rj.reserver == nil {
					continue
				}
				if !rj.user {
					rj.reserver.Release(o, o.Qty)
					continue
				}
				if err := panics.Try(func() error { rj.reserver.Release(o, o.Qty); return nil }); err != nil {
					err = fmt.Errorf("risk: rule %s panicked releasing order %d: %w", rj.name, o.ID, err)
					e.report(err)
					p = errors.Join(p, err)
				}
			}
			e.open.drop(o.ID)
			return e.rejected(ctx, &o, r.name, v, p)
		}
	}
	e.open.admit(&o)
	return Decision{Allowed: true}
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
// *panics.Error of a clock that panicked. A user Reserver whose Fill
// panics does not stop the fill: every other rule records it, the order's
// open quantity goes down, and Fill returns the *panics.Error (several
// joined with errors.Join).
func (e *Engine) Fill(id uint64, qty, price int64) error {
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
	var perr error
	for i := range e.rules {
		r := &e.rules[i]
		switch {
		case r.reserver == nil:
		case r.filler != nil:
			r.filler.fillAt(o, qty, price, now)
		case !r.user:
			r.reserver.Fill(o, qty, price)
		default:
			if err := panics.Try(func() error { r.reserver.Fill(o, qty, price); return nil }); err != nil {
				perr = errors.Join(perr, fmt.Errorf("risk: rule %s panicked filling order %d: %w", r.name, id, err))
			}
		}
	}
	return perr
}

// Release ends an allowed order that will not fill further (cancelled,
// expired or rejected downstream): reserving rules release what they
// still hold for its open quantity. It returns ErrUnknownOrder for an ID
// with no open order. A user Reserver whose Release panics does not stop
// the others': the order ends, and Release returns the *panics.Error
// (several joined with errors.Join).
func (e *Engine) Release(id uint64) error {
	o, rest, err := e.open.take(id, -1, 0)
	if err != nil {
		return err
	}
	var perr error
	for i := range e.rules {
		r := &e.rules[i]
		switch {
		case r.reserver == nil:
		case !r.user:
			r.reserver.Release(o, rest)
		default:
			if err := panics.Try(func() error { r.reserver.Release(o, rest); return nil }); err != nil {
				perr = errors.Join(perr, fmt.Errorf("risk: rule %s panicked releasing order %d: %w", r.name, id, err))
			}
		}
	}
	return perr
}

// OpenOrders returns how many allowed orders are still open.
func (e *Engine) OpenOrders() int { return e.open.count() }
