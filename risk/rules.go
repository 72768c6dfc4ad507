package risk

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otlpgo/otlpgo/internal/checked"
)

// Rule is one pre-trade check. Check runs on the caller's goroutine for
// every order that reaches it, so it must be quick and safe for concurrent
// use; it returns Allow or a rejection. A panic in a user rule's Check
// (or Name, which New calls once) is recovered as a *panics.Error: the
// check rejects the order with ReasonPanic (fail closed) and gives the
// panic to the engine's error handler and to Decision.Panic.
type Rule interface {
	Name() string
	Check(ctx context.Context, o Order) Verdict
}

// Reserver is a Rule that holds something back for each order it allows,
// such as notional or position, until the order ends. The engine calls
// Release with the whole quantity when a later rule rejects the order,
// Fill as it fills, and Release with the unfilled rest when it is
// cancelled (Engine.Release); each quantity is released or filled once.
// A Reserver whose own Check rejects or panics is not released for that
// order: it must hold nothing for it then.
//
// A panic in Release or Fill is recovered as a *panics.Error. It does not
// stop the engine giving back or filling what the other rules hold, nor
// leave the order's ID taken: from Check it goes to the error handler and
// Decision.Panic; from Engine.Fill and Engine.Release it is returned. A
// runtime.Goexit there ends the goroutine, but the engine first has the
// other rules give back or fill what they hold.
type Reserver interface {
	Rule
	Release(o Order, qty int64)
	Fill(o Order, qty, price int64)
}

// clocked is a built-in rule that needs the time: the engine reads the
// clock once per check for all of them.
type clocked interface {
	checkAt(o Order, now int64) Verdict
}

// clockedFiller is a built-in Reserver whose fills need the time: the
// engine reads the clock once per fill, before anything changes.
type clockedFiller interface {
	fillAt(o Order, qty, price, now int64)
}

// notional returns price × qty × mult, and false if it does not fit.
func notional(price, qty, mult int64) (int64, bool) {
	n, ok := checked.Mul(price, qty)
	if !ok {
		return 0, false
	}
	return checked.Mul(n, mult)
}

// overflow is the verdict of a rule whose arithmetic does not fit.
func overflow(format string, args ...any) Verdict {
	return reject(ReasonOverflow, format, args...)
}

// reject builds a verdict, formatting the message only for a rejection.
func reject(r Reason, format string, args ...any) Verdict {
	return Verdict{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// killSwitch rejects every order of a killed account, or every order.
type killSwitch struct {
	all    atomic.Bool
	killed atomic.Int64 // accounts killed: 0 skips the lookup
	mu     sync.RWMutex
	set    map[string]struct{} // guarded by mu
}

func (k *killSwitch) Name() string { return "kill-switch" }

func (k *killSwitch) Check(_ context.Context, o Order) Verdict {
	if k.all.Load() {
		return Verdict{ReasonAllKilled, "the global kill switch is on"}
	}
	if k.killed.Load() > 0 {
		k.mu.RLock()
		_, killed := k.set[o.Account]
		k.mu.RUnlock()
		if killed {
			return Verdict{ReasonAccountKilled, "the account's kill switch is on"}
		}
	}
	return Allow
}

func (k *killSwitch) kill(account string, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, was := k.set[account]
	switch {
	case on && !was:
		if k.set == nil {
			k.set = map[string]struct{}{}
		}
		k.set[account] = struct{}{}
		k.killed.Add(1)
	case !on && was:
		delete(k.set, account)
		k.killed.Add(-1)
	}
}

// limits reads the current configuration: the rules that take limits
// share the engine's.
type limits struct {
	cfg *atomic.Pointer[compiled]
}

// restricted rejects orders for listed instruments.
type restricted struct{ limits }

func (r restricted) Name() string { return "restricted" }

func (r restricted) Check(_ context.Context, o Order) Verdict {
	if c := r.cfg.Load(); c.restricted != nil {
		if _, no := c.restricted[o.Instrument]; no {
			return reject(ReasonRestricted, "%s is restricted", o.Instrument)
		}
	}
	return Allow
}

// maxQty bounds one order's quantity.
type maxQty struct{ limits }

func (r maxQty) Name() string { return "max-quantity" }

func (r maxQty) Check(_ context.Context, o Order) Verdict {
	if max := r.cfg.Load().cfg.MaxOrderQty; max > 0 && o.Qty > max {
		return reject(ReasonMaxQty, "quantity %d over the limit of %d", o.Qty, max)
	}
	return Allow
}

// maxNotional bounds one order's notional.
type maxNotional struct{ limits }

func (r maxNotional) Name() string { return "max-notional" }

func (r maxNotional) Check(_ context.Context, o Order) Verdict {
	c := r.cfg.Load()
	if max := c.cfg.MaxOrderNotional; max > 0 {
		mult := c.multiplier(o.Instrument)
		n, ok := notional(o.Price, o.Qty, mult)
		if !ok {
			return overflow("notional %d × %d × multiplier %d does not fit in an int64", o.Price, o.Qty, mult)
		}
		if n > max {
			return reject(ReasonMaxNotional, "notional %d over the limit of %d", n, max)
		}
	}
	return Allow
}

// priceBand bounds an order's price around its instrument's reference.
type priceBand struct {
	limits
	refs *refPrices
}

func (r priceBand) Name() string { return "price-band" }

func (r priceBand) Check(_ context.Context, o Order) Verdict {
	bps := r.cfg.Load().cfg.PriceBandBps
	if bps == 0 {
		return Allow
	}
	ref := r.refs.get(o.Instrument)
	if ref <= 0 { // none yet, or not a price: fail closed
		return reject(ReasonNoReferencePrice, "no reference price for %s", o.Instrument)
	}
	// Price and ref are both positive, so the difference fits.
	diff := o.Price - ref
	if diff < 0 {
		diff = -diff
	}
	// |price - ref| × 10,000 > ref × bps, compared exactly in 128 bits:
	// products of non-negative int64s never overflow there, so this needs
	// no overflow policy (unlike a notional, which is compared in 64).
	dh, dl := bits.Mul64(uint64(diff), 10_000)
	rh, rl := bits.Mul64(uint64(ref), uint64(bps))
	if dh > rh || (dh == rh && dl > rl) {
		return reject(ReasonPriceBand, "price %d is more than %d bps from the reference %d", o.Price, bps, ref)
	}
	return Allow
}

// refPrices holds reference prices by instrument. Reading one is two
// atomic loads and a map lookup; a new instrument copies the map.
type refPrices struct {
	m  atomic.Pointer[map[string]*atomic.Int64]
	mu sync.Mutex // serialises adding instruments
}

func (p *refPrices) get(instrument string) int64 {
	if m := p.m.Load(); m != nil {
		if v := (*m)[instrument]; v != nil {
			return v.Load()
		}
	}
	return 0
}

func (p *refPrices) set(instrument string, price int64) {
	if m := p.m.Load(); m != nil {
		if v := (*m)[instrument]; v != nil {
			v.Store(price)
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.m.Load()
	next := map[string]*atomic.Int64{}
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := next[instrument]
	if v == nil {
		v = new(atomic.Int64)
		next[instrument] = v
	}
	v.Store(price)
	p.m.Store(&next)
}

// orderRate limits each account's orders a second with GCRA, the
// integer form of a token bucket: an account's theoretical arrival time
// moves on by one emission interval per order, and an order may arrive at
// most the burst tolerance ahead of it.
type orderRate struct {
	limits
	now   func() int64
	state *table[string, rateState]
}

type rateState struct{ tat, last int64 }

func (r orderRate) Name() string { return "order-rate" }

func (r orderRate) Check(_ context.Context, o Order) Verdict { return r.checkAt(o, r.now()) }

func (r orderRate) checkAt(o Order, now int64) Verdict {
	l := r.cfg.Load().account(o.Account)
	if l.interval == 0 {
		return Allow
	}
	st, mu := r.state.lock(o.Account)
	// A time read before the lock may be older than one another check
	// already moved the account on with: take the later.
	now = max(now, st.last)
	st.last = now
	tat := max(st.tat, now)
	if tat-l.tolerance > now { // tat >= now and tolerance >= 0: no overflow
		mu.Unlock()
		return reject(ReasonRate, "order rate over %.6g a second", float64(time.Second)/float64(l.interval))
	}
	next, ok := checked.Add(tat, l.interval)
	if !ok {
		mu.Unlock()
		return overflow("the account's next arrival time %d + %d ns does not fit in an int64", tat, l.interval)
	}
	st.tat = next
	mu.Unlock()
	return Allow
}

// sizeAnomaly rejects an order far larger than the account's usual size,
// with Welford's running mean and variance of the quantities it allowed
// through (a rejected outlier does not teach it that outliers are normal).
// It learns from every order that passes it, including one a later rule
// (position, daily notional, a user rule) then rejects: it models the
// sizes the account sends, and learning only from allowed orders would
// need a second lock of its state per allowed order.
// The standard deviation is taken as at least one lot, so that an
// account that always sends one size is not stopped for one lot more.
type sizeAnomaly struct {
	limits
	state *table[string, welford]
}

type welford struct {
	n        int64
	mean, m2 float64
}

func (r sizeAnomaly) Name() string { return "size-anomaly" }

func (r sizeAnomaly) Check(_ context.Context, o Order) Verdict {
	c := r.cfg.Load()
	st, mu := r.state.lock(o.Account)
	defer mu.Unlock()
	q := float64(o.Qty)
	if z := c.cfg.AnomalyZ; z > 0 && st.n >= c.warmup {
		sd := 1.0 // one size seen (AnomalyWarmup 1): no variance yet, the floor
		if st.n > 1 {
			sd = max(math.Sqrt(st.m2/float64(st.n-1)), 1)
		}
		if (q-st.mean)/sd > z {
			return reject(ReasonSizeAnomaly, "quantity %d is %.1f standard deviations above the account's mean %.1f", o.Qty, (q-st.mean)/sd, st.mean)
		}
	}
	st.n++
	d := q - st.mean
	st.mean += d / float64(st.n)
	st.m2 += d * (q - st.mean)
	return Allow
}

// position bounds each account's position per instrument, counting open
// orders as filled: a buy may take filled plus open buys to the limit, a
// sell filled less open sells to minus the limit. Positions are tracked
// whether a limit is set or not, so that one set later applies at once.
type position struct {
	limits
	state *table[posKey, positionState]
}

type positionState struct {
	filled, openBuy, openSell int64
}

func (r position) Name() string { return "position" }

// Check keeps filled+openBuy and filled-openSell (the position if every
// open buy, or every open sell, filled) within an int64, so that fills and
// releases, which only move quantity between them or take it away, never
// overflow; an order that would take either out of range is rejected.
func (r position) Check(_ context.Context, o Order) Verdict {
	max := r.cfg.Load().account(o.Account).maxPosition
	st, mu := r.state.lock(posKey{o.Account, o.Instrument})
	defer mu.Unlock()
	if o.Side == Buy {
		open, ok1 := checked.Add(st.openBuy, o.Qty)
		worst, ok2 := checked.Add(st.filled, open)
		if !ok1 || !ok2 {
			return overflow("a buy of %d on a position of %d with %d open to buy does not fit in an int64", o.Qty, st.filled, st.openBuy)
		}
		if max > 0 && worst > max {
			return reject(ReasonPosition, "a buy of %d could take the position from %d (%d open to buy) over %d", o.Qty, st.filled, st.openBuy, max)
		}
		st.openBuy = open
	} else {
		open, ok1 := checked.Add(st.openSell, o.Qty)
		worst, ok2 := checked.Sub(st.filled, open)
		if !ok1 || !ok2 {
			return overflow("a sell of %d on a position of %d with %d open to sell does not fit in an int64", o.Qty, st.filled, st.openSell)
		}
		if max > 0 && worst < -max {
			return reject(ReasonPosition, "a sell of %d could take the position from %d (%d open to sell) under -%d", o.Qty, st.filled, st.openSell, max)
		}
		st.openSell = open
	}
	return Allow
}

func (r position) Release(o Order, qty int64) {
	st, mu := r.state.lock(posKey{o.Account, o.Instrument})
	if o.Side == Buy {
		st.openBuy -= qty
	} else {
		st.openSell -= qty
	}
	mu.Unlock()
}

func (r position) Fill(o Order, qty, _ int64) {
	st, mu := r.state.lock(posKey{o.Account, o.Instrument})
	if o.Side == Buy {
		st.openBuy -= qty
		st.filled += qty
	} else {
		st.openSell -= qty
		st.filled -= qty
	}
	mu.Unlock()
}

// dailyNotional bounds each account's notional per trading day: what it
// filled today plus what its open orders could fill at their limit
// prices. Filled notional starts again from zero at midnight in the
// configured time zone; open orders stay reserved across it. It is
// tracked whether a limit is set or not.
//
// A fill counts at the fill price or the order's limit price, whichever
// is lower: a buy filled below its limit uses less than it reserved, and
// a sell filled above its limit (price improvement) counts at the limit,
// the notional the check allowed. (Engine.Fill refuses a buy above its
// limit and a sell below it.) So a fill never adds more to used than it
// takes from reserved, used+reserved only grows in a check that keeps it
// within the limit, and the sum always fits in an int64.
type dailyNotional struct {
	limits
	now   func() int64
	days  *dayClock
	state *table[string, dailyState]
}

// dailyState is one account's trading day and its notional. The day
// only moves forward: each check and fill reads the clock before it
// takes the account's lock, so a reading may be older than the one that
// moved the account to a new day (or the clock may step back across
// midnight); such a reading counts against the newer, stored day. Moving
// back would forget that day's usage and let the limit be spent twice.
type dailyState struct {
	day, end       int64          // the day's start and the next day's, Unix nanoseconds
	loc            *time.Location // the zone end was computed in; nil: no day yet
	used, reserved int64
}

// advance moves the account to the day of now if now is past the end of
// its day, which starts with nothing used; an earlier now stays on the
// stored day. When the time zone has changed (SetConfig), the stored day
// ends at the first midnight in the new zone after its start, so that
// usage neither vanishes with the change nor outlives the new zone's
// next day boundary.
func (st *dailyState) advance(now int64, loc *time.Location, days *dayClock) {
	switch {
	case st.loc == nil:
		st.day, st.end = days.day(now, loc)
		st.loc = loc
		return
	case st.loc != loc:
		st.end = nextMidnight(st.day, loc)
		st.loc = loc
	}
	if now >= st.end {
		st.day, st.end = days.day(now, loc)
		st.used = 0
	}
}

func (r dailyNotional) Name() string { return "daily-notional" }

func (r dailyNotional) Check(_ context.Context, o Order) Verdict { return r.checkAt(o, r.now()) }

func (r dailyNotional) checkAt(o Order, now int64) Verdict {
	c := r.cfg.Load()
	limit := c.account(o.Account).dailyNotional
	mult := c.multiplier(o.Instrument)
	n, ok := notional(o.Price, o.Qty, mult)
	if !ok {
		return overflow("notional %d × %d × multiplier %d does not fit in an int64", o.Price, o.Qty, mult)
	}
	st, mu := r.state.lock(o.Account)
	defer mu.Unlock()
	st.advance(now, c.loc, r.days)
	// used+reserved fits (see the type's doc); with n it may not.
	total, ok := checked.Add(st.used+st.reserved, n)
	if !ok {
		return overflow("notional %d with %d used and %d open today does not fit in an int64", n, st.used, st.reserved)
	}
	if limit > 0 && total > limit {
		return reject(ReasonDailyNotional, "notional %d with %d used and %d open today is over the daily limit of %d", n, st.used, st.reserved, limit)
	}
	st.reserved += n // 0 <= reserved+n <= total
	return Allow
}

// Release gives back qty of an order's reservation. It cannot overflow:
// the order's whole notional fitted when it was checked, and the
// multipliers cannot change while it is open.
func (r dailyNotional) Release(o Order, qty int64) {
	n, _ := notional(o.Price, qty, r.cfg.Load().multiplier(o.Instrument))
	st, mu := r.state.lock(o.Account)
	st.reserved -= n
	mu.Unlock()
}

func (r dailyNotional) Fill(o Order, qty, price int64) { r.fillAt(o, qty, price, r.now()) }

// fillAt turns qty of an order's reservation into use, at the lower of
// the fill and limit prices (see the type's doc), on the day of now.
func (r dailyNotional) fillAt(o Order, qty, price, now int64) {
	c := r.cfg.Load()
	mult := c.multiplier(o.Instrument)
	reserved, _ := notional(o.Price, qty, mult)         // fitted at the check
	used, _ := notional(min(price, o.Price), qty, mult) // <= reserved
	st, mu := r.state.lock(o.Account)
	st.advance(now, c.loc, r.days)
	st.reserved -= reserved
	st.used += used // used+reserved does not grow: no overflow
	mu.Unlock()
}

// dayClock maps an instant to the start of its day in a time zone,
// caching the current day so that a check costs two comparisons.
type dayClock struct {
	w atomic.Pointer[dayWindow]
}

type dayWindow struct {
	loc        *time.Location
	start, end int64
}

// day returns the start of now's day in loc and the start of the next.
func (d *dayClock) day(now int64, loc *time.Location) (start, end int64) {
	if w := d.w.Load(); w != nil && w.loc == loc && now >= w.start && now < w.end {
		return w.start, w.end
	}
	t := time.Unix(0, now).In(loc)
	y, m, day := t.Date()
	w := &dayWindow{loc: loc,
		start: time.Date(y, m, day, 0, 0, 0, 0, loc).UnixNano(),
		end:   nextMidnight(now, loc)}
	if w.start > now { // before 1678: UnixNano wrapped
		w.start = math.MinInt64
	}
	d.w.Store(w)
	return w.start, w.end
}

// nextMidnight returns the first start of a day in loc after t.
// Past 2262, where Unix nanoseconds end, it returns math.MaxInt64.
func nextMidnight(t int64, loc *time.Location) int64 {
	y, m, day := time.Unix(0, t).In(loc).Date()
	next := time.Date(y, m, day+1, 0, 0, 0, 0, loc).UnixNano()
	if next <= t { // UnixNano wrapped
		return math.MaxInt64
	}
	return next
}
