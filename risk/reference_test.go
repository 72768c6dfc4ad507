package risk_test

import (
	"math"
	"math/big"
	"time"

	"github.com/otlpgo/otlpgo/risk"
)

// refEngine is a deliberately simple reference for the engine: one
// struct, plain maps, every limit recomputed from scratch, the size
// anomaly from the exact sums of the sizes seen (big rationals, no
// running float). The tests guard it with a mutex where they share it.
type refEngine struct {
	cfg       risk.Config
	killedAll bool
	killed    map[string]bool
	refs      map[string]int64
	tat       map[string]int64
	sizes     map[string]*refSizes
	pos       map[[2]string]*refPos
	daily     map[string]*refDaily
	open      map[uint64]*refOpen
}

type refPos struct{ filled, openBuy, openSell int64 }

// refSizes holds exact sums of an account's order sizes.
type refSizes struct{ n, sum, sumSq int64 }

type refDaily struct {
	day            time.Time
	used, reserved int64
}

type refOpen struct {
	o    risk.Order
	open int64
}

func newRefEngine(cfg risk.Config) *refEngine {
	return &refEngine{cfg: cfg, killed: map[string]bool{}, refs: map[string]int64{}, tat: map[string]int64{},
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
			rate, burst = a.OrderRate, a.OrderBurst
		} else if a.OrderBurst != 0 {
			burst = a.OrderBurst
		}
	}
	return daily, position, rate, max(burst, 1)
}

func (r *refEngine) dayOf(now time.Time) time.Time {
	loc, _ := time.LoadLocation(r.cfg.TimeZone)
	t := now.In(loc)
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func (r *refEngine) dailyOf(account string, now time.Time) *refDaily {
	d := r.daily[account]
	if d == nil {
		d = &refDaily{}
		r.daily[account] = d
	}
	if day := r.dayOf(now); !d.day.Equal(day) {
		d.day, d.used = day, 0
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
	n := o.Price * o.Qty * r.mult(o.Instrument)
	if r.cfg.MaxOrderNotional > 0 && n > r.cfg.MaxOrderNotional {
		return "max-notional", risk.ReasonMaxNotional
	}
	if bps := r.cfg.PriceBandBps; bps > 0 {
		ref := r.refs[o.Instrument]
		if ref == 0 {
			return "price-band", risk.ReasonNoReferencePrice
		}
		diff := o.Price - ref
		if diff < 0 {
			diff = -diff
		}
		if diff*10_000 > ref*bps {
			return "price-band", risk.ReasonPriceBand
		}
	}
	daily, position, rate, burst := r.account(o.Account)
	if rate > 0 {
		interval := max(int64(float64(time.Second)/rate), 1)
		tat := max(r.tat[o.Account], now.UnixNano())
		if tat-interval*int64(burst-1) > now.UnixNano() {
			return "order-rate", risk.ReasonRate
		}
		r.tat[o.Account] = tat + interval
	}
	if r.anomalous(o) {
		return "size-anomaly", risk.ReasonSizeAnomaly
	}
	sz := r.sizes[o.Account]
	if sz == nil {
		sz = &refSizes{}
		r.sizes[o.Account] = sz
	}
	sz.n, sz.sum, sz.sumSq = sz.n+1, sz.sum+o.Qty, sz.sumSq+o.Qty*o.Qty
	p := r.posOf(o)
	if o.Side == risk.Buy {
		if position > 0 && p.filled+p.openBuy+o.Qty > position {
			return "position", risk.ReasonPosition
		}
	} else if position > 0 && p.filled-p.openSell-o.Qty < -position {
		return "position", risk.ReasonPosition
	}
	d := r.dailyOf(o.Account, now)
	if daily > 0 && d.used+d.reserved+n > daily {
		return "daily-notional", risk.ReasonDailyNotional
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
	if r.cfg.AnomalyZ == 0 || sz == nil || sz.n < warmup {
		return false
	}
	n := big.NewRat(sz.n, 1)
	sum, sq := big.NewRat(sz.sum, 1), big.NewRat(sz.sumSq, 1)
	mean := new(big.Rat).Quo(sum, n)
	// variance = (sq - n·mean²) / (n - 1)
	variance := new(big.Rat).Sub(sq, new(big.Rat).Mul(n, new(big.Rat).Mul(mean, mean)))
	variance.Quo(variance, new(big.Rat).Sub(n, big.NewRat(1, 1)))
	if variance.Cmp(big.NewRat(1, 1)) < 0 {
		variance = big.NewRat(1, 1)
	}
	dev := new(big.Rat).Sub(big.NewRat(o.Qty, 1), mean)
	if dev.Sign() <= 0 {
		return false
	}
	z := new(big.Rat).SetFloat64(r.cfg.AnomalyZ)
	// dev > z·sd  ⇔  dev² > z²·variance
	lhs := new(big.Rat).Mul(dev, dev)
	rhs := new(big.Rat).Mul(new(big.Rat).Mul(z, z), variance)
	return lhs.Cmp(rhs) > 0
}

func (r *refEngine) fill(id uint64, qty, price int64, now time.Time) bool {
	op := r.open[id]
	if op == nil || qty <= 0 || price <= 0 || qty > op.open {
		return false
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
	d := r.dailyOf(o.Account, now)
	d.reserved -= o.Price * qty * r.mult(o.Instrument)
	d.used += price * qty * r.mult(o.Instrument)
	if op.open -= qty; op.open == 0 {
		delete(r.open, id)
	}
	return true
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
