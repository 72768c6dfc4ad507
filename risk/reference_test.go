package risk_test

import (
	"maps"
	"math"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/otlpgo/otlpgo/risk"
)

// refEngine is a deliberately simple reference for the engine: one
// struct, plain maps, every limit recomputed from scratch in exact
// integers (math/big: a result that is not an int64 is an overflow, and
// the order is rejected with ReasonOverflow by the rule that computed
// it), the size anomaly from the exact sums of the sizes seen (big
// rationals, no running float). The tests guard it with a mutex where
// they share it.
type refEngine struct {
	cfg       risk.Config // a deep copy of what the engine was given
	killedAll bool
	killed    map[string]bool
	refs      map[string]int64
	tat       map[string]int64
	last      map[string]int64 // the latest time each account's rate was checked at
	sizes     map[string]*refSizes
	pos       map[[2]string]*refPos
	daily     map[string]*refDaily
	open      map[uint64]*refOpen
	// user, if set, is a user rule between the position (800) and daily
	// notional (900) rules; late one after every built-in rule. They
	// return the rule's name and verdict. A user rule reserves nothing
	// the reference tracks.
	user, late func(o risk.Order) (string, risk.Reason)
	// anomalyHint says whether the engine rejected the order for its
	// size. The reference takes it only where the exact answer is within
	// float64 rounding of the threshold (the engine keeps a float64
	// running mean and variance).
	anomalyHint bool
	// clockPanics says the engine's clock panics: the first rule that
	// reads it (the order rate) rejects with ReasonPanic.
	clockPanics bool
}

type refPos struct{ filled, openBuy, openSell int64 }

// refSizes holds exact sums of an account's order sizes.
type refSizes struct{ n, sum, sumSq big.Int }

// cloneConfig deep-copies a Config, as the engine must.
func cloneConfig(c risk.Config) risk.Config {
	c.Restricted = slices.Clone(c.Restricted)
	c.Multipliers = maps.Clone(c.Multipliers)
	c.Accounts = maps.Clone(c.Accounts)
	return c
}

// fits returns x as an int64 and whether it is one.
func fits(x *big.Int) (int64, bool) {
	if !x.IsInt64() {
		return 0, false
	}
	return x.Int64(), true
}

// mul returns the exact product of the factors.
func mul(factors ...int64) *big.Int {
	z := big.NewInt(1)
	for _, f := range factors {
		z.Mul(z, big.NewInt(f))
	}
	return z
}

// add returns the exact sum of the terms.
func add(terms ...int64) *big.Int {
	z := new(big.Int)
	for _, t := range terms {
		z.Add(z, big.NewInt(t))
	}
	return z
}

// refDaily is an account's trading day: zero before its first check or
// fill. The day only moves forward, to the day of a time at or past the
// first midnight (in the zone now configured) after the day's start.
type refDaily struct {
	day            time.Time
	used, reserved int64
}

type refOpen struct {
	o    risk.Order
	open int64
}

func newRefEngine(cfg risk.Config) *refEngine {
	return &refEngine{cfg: cloneConfig(cfg), killed: map[string]bool{}, refs: map[string]int64{}, tat: map[string]int64{}, last: map[string]int64{},
		sizes: map[string]*refSizes{}, pos: map[[2]string]*refPos{}, daily: map[string]*refDaily{}, open: map[uint64]*refOpen{}}
}

func (r *refEngine) mult(instrument string) int64 {
	if m, ok := r.cfg.Multipliers[instrument]; ok {
		return m
	}
	return 1
}

// account returns the account's effective daily limit, position limit,
// rate and burst.
func (r *refEngine) account(name string) (daily, position int64, rate float64, burst int) {
	daily, position, rate, burst = r.cfg.DailyNotional, r.cfg.MaxPosition, r.cfg.OrderRate, r.cfg.OrderBurst
	if a, ok := r.cfg.Accounts[name]; ok {
		if a.DailyNotional != 0 {
			daily = a.DailyNotional
		}
		if a.MaxPosition != 0 {
			position = a.MaxPosition
		}
		if a.OrderRate != 0 {
			rate = a.OrderRate
		}
		if a.OrderBurst != 0 {
			burst = a.OrderBurst
		}
	}
	return daily, position, rate, max(burst, 1)
}

// zones caches time zones: loading one reads the file system.
var zones sync.Map // name -> *time.Location

func (r *refEngine) zone() *time.Location {
	v, ok := zones.Load(r.cfg.TimeZone)
	if !ok {
		loc, _ := time.LoadLocation(r.cfg.TimeZone)
		v, _ = zones.LoadOrStore(r.cfg.TimeZone, loc)
	}
	return v.(*time.Location)
}

func (r *refEngine) dayOf(now time.Time) time.Time {
	loc := r.zone()
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// nextDay returns the first midnight in the configured zone after t.
func (r *refEngine) nextDay(t time.Time) time.Time {
	loc := r.zone()
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

func (r *refEngine) dailyOf(account string, now time.Time) *refDaily {
	d := r.daily[account]
	if d == nil {
		d = &refDaily{}
		r.daily[account] = d
	}
	switch {
	case d.day.IsZero():
		d.day = r.dayOf(now)
	case !now.Before(r.nextDay(d.day)):
		d.day, d.used = r.dayOf(now), 0
	}
	return d
}

func (r *refEngine) posOf(o risk.Order) *refPos {
	k := [2]string{o.Account, o.Instrument}
	if r.pos[k] == nil {
		r.pos[k] = &refPos{}
	}
	return r.pos[k]
}

// check returns the rejecting rule and reason, or "" and ReasonNone.
func (r *refEngine) check(o risk.Order, now time.Time) (string, risk.Reason) {
	if o.ID == 0 || o.Account == "" || o.Instrument == "" || (o.Side != risk.Buy && o.Side != risk.Sell) ||
		o.Price <= 0 || o.Qty <= 0 || o.Qty > risk.MaxQty ||
		new(big.Int).Mul(big.NewInt(o.Price), big.NewInt(o.Qty)).Cmp(big.NewInt(risk.MaxNotional)) > 0 {
		return "order", risk.ReasonInvalidOrder
	}
	if r.open[o.ID] != nil {
		return "order", risk.ReasonDuplicateID
	}
	if r.killedAll {
		return "kill-switch", risk.ReasonAllKilled
	}
	if r.killed[o.Account] {
		return "kill-switch", risk.ReasonAccountKilled
	}
	for _, name := range r.cfg.Restricted {
		if name == o.Instrument {
			return "restricted", risk.ReasonRestricted
		}
	}
	if r.cfg.MaxOrderQty > 0 && o.Qty > r.cfg.MaxOrderQty {
		return "max-quantity", risk.ReasonMaxQty
	}
	n, nFits := fits(mul(o.Price, o.Qty, r.mult(o.Instrument)))
	if r.cfg.MaxOrderNotional > 0 {
		if !nFits {
			return "max-notional", risk.ReasonOverflow
		}
		if n > r.cfg.MaxOrderNotional {
			return "max-notional", risk.ReasonMaxNotional
		}
	}
	if bps := r.cfg.PriceBandBps; bps > 0 {
		ref := r.refs[o.Instrument]
		if ref <= 0 {
			return "price-band", risk.ReasonNoReferencePrice
		}
		diff := new(big.Int).Abs(new(big.Int).Sub(big.NewInt(o.Price), big.NewInt(ref)))
		if diff.Mul(diff, big.NewInt(10_000)).Cmp(mul(ref, bps)) > 0 {
			return "price-band", risk.ReasonPriceBand
		}
	}
	daily, position, rate, burst := r.account(o.Account)
	if r.clockPanics {
		return "order-rate", risk.ReasonPanic
	}
	if rate > 0 {
		interval := max(int64(float64(time.Second)/rate), 1)
		nowNs := max(now.UnixNano(), r.last[o.Account]) // the rate's time never goes back
		r.last[o.Account] = nowNs
		tat := max(r.tat[o.Account], nowNs)
		// The config validated: interval × (burst-1) fits.
		if tat-interval*int64(burst-1) > nowNs {
			return "order-rate", risk.ReasonRate
		}
		next, ok := fits(add(tat, interval))
		if !ok {
			return "order-rate", risk.ReasonOverflow
		}
		r.tat[o.Account] = next
	}
	if r.anomalous(o) {
		return "size-anomaly", risk.ReasonSizeAnomaly
	}
	sz := r.sizes[o.Account]
	if sz == nil {
		sz = &refSizes{}
		r.sizes[o.Account] = sz
	}
	sz.n.Add(&sz.n, big.NewInt(1))
	sz.sum.Add(&sz.sum, big.NewInt(o.Qty))
	sz.sumSq.Add(&sz.sumSq, mul(o.Qty, o.Qty))
	p := r.posOf(o)
	if o.Side == risk.Buy {
		worst, ok1 := fits(add(p.filled, p.openBuy, o.Qty))
		_, ok2 := fits(add(p.openBuy, o.Qty))
		if !ok1 || !ok2 {
			return "position", risk.ReasonOverflow
		}
		if position > 0 && worst > position {
			return "position", risk.ReasonPosition
		}
	} else {
		worst, ok1 := fits(add(p.filled, -p.openSell, -o.Qty))
		_, ok2 := fits(add(p.openSell, o.Qty))
		if !ok1 || !ok2 {
			return "position", risk.ReasonOverflow
		}
		if position > 0 && worst < -position {
			return "position", risk.ReasonPosition
		}
	}
	if r.user != nil {
		if rule, reason := r.user(o); reason != risk.ReasonNone {
			return rule, reason
		}
	}
	if !nFits {
		return "daily-notional", risk.ReasonOverflow
	}
	d := r.dailyOf(o.Account, now)
	total, ok := fits(add(d.used, d.reserved, n))
	if !ok {
		return "daily-notional", risk.ReasonOverflow
	}
	if daily > 0 && total > daily {
		return "daily-notional", risk.ReasonDailyNotional
	}
	if r.late != nil {
		if rule, reason := r.late(o); reason != risk.ReasonNone {
			return rule, reason
		}
	}
	// Allowed: reserve.
	if o.Side == risk.Buy {
		p.openBuy += o.Qty
	} else {
		p.openSell += o.Qty
	}
	d.reserved += n
	r.open[o.ID] = &refOpen{o, o.Qty}
	return "", risk.ReasonNone
}

// anomalous decides the size anomaly exactly: q is anomalous when it is
// above the mean by more than Z standard deviations, the deviation
// floored at one lot.
func (r *refEngine) anomalous(o risk.Order) bool {
	sz := r.sizes[o.Account]
	warmup := int64(r.cfg.AnomalyWarmup)
	if warmup == 0 {
		warmup = 20
	}
	if r.cfg.AnomalyZ == 0 || sz == nil || sz.n.Cmp(big.NewInt(warmup)) < 0 {
		return false
	}
	n := new(big.Rat).SetInt(&sz.n)
	sum, sq := new(big.Rat).SetInt(&sz.sum), new(big.Rat).SetInt(&sz.sumSq)
	mean := new(big.Rat).Quo(sum, n)
	// variance = (sq - n·mean²) / (n - 1), floored at one lot²; with one
	// size seen there is no variance, only the floor.
	variance := big.NewRat(1, 1)
	if sz.n.Cmp(big.NewInt(1)) > 0 {
		v := new(big.Rat).Sub(sq, new(big.Rat).Mul(n, new(big.Rat).Mul(mean, mean)))
		v.Quo(v, new(big.Rat).Sub(n, big.NewRat(1, 1)))
		if v.Cmp(variance) > 0 {
			variance = v
		}
	}
	dev := new(big.Rat).Sub(big.NewRat(o.Qty, 1), mean)
	if dev.Sign() <= 0 {
		return false
	}
	z := new(big.Rat).SetFloat64(r.cfg.AnomalyZ)
	// dev > z·sd  ⇔  dev² > z²·variance
	lhs := new(big.Rat).Mul(dev, dev)
	rhs := new(big.Rat).Mul(new(big.Rat).Mul(z, z), variance)
	// Within float64 rounding of the threshold the engine may round either
	// way: take its answer there.
	lf, _ := lhs.Float64()
	rf, _ := rhs.Float64()
	meanF, _ := mean.Float64()
	scale := float64(o.Qty) + meanF + math.Sqrt(rf) + 1
	if math.Abs(math.Sqrt(lf)-math.Sqrt(rf)) <= 1e-9*scale {
		return r.anomalyHint
	}
	return lhs.Cmp(rhs) > 0
}

// fill returns the sentinel the engine's Fill must match, or nil.
func (r *refEngine) fill(id uint64, qty, price int64, now time.Time) error {
	op := r.open[id]
	switch {
	case qty <= 0 || price <= 0 || qty > risk.MaxQty:
		return risk.ErrOverfill
	case op == nil:
		return risk.ErrUnknownOrder
	case qty > op.open:
		return risk.ErrOverfill
	case op.o.Side == risk.Buy && price > op.o.Price, op.o.Side == risk.Sell && price < op.o.Price:
		return risk.ErrFillPrice
	case mul(price, qty).Cmp(big.NewInt(risk.MaxNotional)) > 0:
		return risk.ErrFillPrice
	}
	o := op.o
	p := r.posOf(o)
	if o.Side == risk.Buy {
		p.openBuy -= qty
		p.filled += qty
	} else {
		p.openSell -= qty
		p.filled -= qty
	}
	// Counted at the lower of the fill and limit prices: a sell's price
	// improvement counts at its limit.
	d := r.dailyOf(o.Account, now)
	d.reserved -= o.Price * qty * r.mult(o.Instrument)
	d.used += min(price, o.Price) * qty * r.mult(o.Instrument)
	if op.open -= qty; op.open == 0 {
		delete(r.open, id)
	}
	return nil
}

func (r *refEngine) release(id uint64) bool {
	op := r.open[id]
	if op == nil {
		return false
	}
	o := op.o
	p := r.posOf(o)
	if o.Side == risk.Buy {
		p.openBuy -= op.open
	} else {
		p.openSell -= op.open
	}
	r.daily[o.Account].reserved -= o.Price * op.open * r.mult(o.Instrument)
	delete(r.open, id)
	return true
}

func nan() float64 { return math.NaN() }
