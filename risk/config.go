package risk

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/otlpgo/otlpgo/internal/checked"
)

// ErrInvalidConfig is returned by Config.Validate, New and SetConfig for
// a configuration that cannot be applied; the message names the field.
var ErrInvalidConfig = errors.New("risk: invalid configuration")

// Config holds the limits of the built-in rules. Limits are data: load
// them, compare them, and replace them while checks run (SetConfig). A
// zero field turns its rule off (or takes the stated default). New and
// SetConfig copy it deeply: changing a Config's maps or slices afterwards
// changes nothing in the engine.
type Config struct {
	// MaxOrderQty is the largest quantity one order may have.
	MaxOrderQty int64
	// MaxOrderNotional is the largest notional one order may have.
	MaxOrderNotional int64
	// PriceBandBps bounds an order's price to within this many basis
	// points (1/100 of a percent) of its instrument's reference price
	// (Engine.SetReferencePrice), against fat fingers. An instrument with
	// no reference price yet rejects every order while a band is set.
	PriceBandBps int64
	// DailyNotional is the most notional an account may trade in a day,
	// counting what its open orders could still trade.
	DailyNotional int64
	// TimeZone names the IANA time zone whose midnight starts a trading
	// day, such as "America/New_York"; "" is UTC. When SetConfig changes
	// it, an account's usage so far counts until the first midnight in
	// the new zone after the start of its current day.
	TimeZone string
	// MaxPosition is the largest position, long or short in lots, an
	// account may reach in one instrument, counting its open orders as if
	// they all filled.
	MaxPosition int64
	// OrderRate is how many orders a second an account may send, with
	// bursts of up to OrderBurst orders (default 1). An account in
	// Accounts with its own OrderRate keeps this OrderBurst unless it
	// sets its own.
	OrderRate  float64
	OrderBurst int
	// AnomalyZ rejects an order whose quantity is more than AnomalyZ
	// standard deviations above the mean size of the account's earlier
	// orders, once the account has sent AnomalyWarmup orders (default 20).
	AnomalyZ      float64
	AnomalyWarmup int
	// Restricted lists instruments no order may trade.
	Restricted []string
	// Multipliers gives, by instrument, the notional of one price unit on
	// one lot (a contract multiplier, or tick value); default 1.
	Multipliers map[string]int64
	// Accounts overrides the per-account limits for some accounts; a zero
	// field there keeps the limit above.
	Accounts map[string]AccountLimits
}

// AccountLimits are the limits one account may have of its own. A zero
// field keeps the Config's: an account with its own OrderRate and no
// OrderBurst has the Config's OrderBurst, and one with its own OrderBurst
// and no OrderRate bursts that much at the Config's OrderRate.
type AccountLimits struct {
	DailyNotional int64
	MaxPosition   int64
	OrderRate     float64
	OrderBurst    int
}

const defaultAnomalyWarmup = 20

// Validate reports the first field that cannot be applied, as an error
// wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	_, err := compile(c)
	return err
}

// clone returns a deep copy of c: no map or slice of the copy is shared
// with c, so a caller that changes its Config after New or SetConfig
// changes nothing in the engine.
func (c *Config) clone() Config {
	d := *c
	d.Restricted = slices.Clone(c.Restricted)
	d.Multipliers = maps.Clone(c.Multipliers)
	d.Accounts = maps.Clone(c.Accounts) // AccountLimits holds no references
	return d
}

// compiled is a Config made ready for checks: defaults applied, the time
// zone loaded, sets built. It is immutable once built, and shares nothing
// with the Config it was compiled from.
type compiled struct {
	cfg        Config
	loc        *time.Location
	restricted map[string]struct{}
	defaults   accountLimits
	accounts   map[string]*accountLimits
	warmup     int64
}

// accountLimits are one account's limits with the rate as a GCRA
// emission interval and burst tolerance, in nanoseconds.
type accountLimits struct {
	dailyNotional int64
	maxPosition   int64
	interval      int64 // 0: no rate limit
	tolerance     int64
	burst         int // the OrderBurst in force, 0 for the default of 1
}

func compile(c *Config) (*compiled, error) {
	bad := func(format string, args ...any) (*compiled, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	for name, v := range map[string]int64{"MaxOrderQty": c.MaxOrderQty, "MaxOrderNotional": c.MaxOrderNotional,
		"PriceBandBps": c.PriceBandBps, "DailyNotional": c.DailyNotional, "MaxPosition": c.MaxPosition,
		"OrderBurst": int64(c.OrderBurst), "AnomalyWarmup": int64(c.AnomalyWarmup)} {
		if v < 0 {
			return bad("%s is negative (%d)", name, v)
		}
	}
	if math.IsNaN(c.AnomalyZ) || math.IsInf(c.AnomalyZ, 0) || c.AnomalyZ < 0 {
		return bad("AnomalyZ %v is not a non-negative number", c.AnomalyZ)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return bad("TimeZone %q: %v", c.TimeZone, err)
	}
	cc := &compiled{cfg: c.clone(), loc: loc, warmup: int64(c.AnomalyWarmup)}
	if cc.warmup == 0 {
		cc.warmup = defaultAnomalyWarmup
	}
	if cc.defaults, err = accountLimitsOf(AccountLimits{c.DailyNotional, c.MaxPosition, c.OrderRate, c.OrderBurst}, "", nil); err != nil {
		return nil, err
	}
	for _, name := range c.Restricted {
		if name == "" {
			return bad("Restricted lists an empty instrument")
		}
		if cc.restricted == nil {
			cc.restricted = map[string]struct{}{}
		}
		cc.restricted[name] = struct{}{}
	}
	for name, m := range c.Multipliers {
		if name == "" || m <= 0 {
			return bad("Multipliers[%q] = %d: want a named instrument and a positive multiplier", name, m)
		}
	}
	for name, a := range c.Accounts {
		if name == "" {
			return bad("Accounts has an empty account name")
		}
		l, err := accountLimitsOf(a, name, &cc.defaults)
		if err != nil {
			return nil, err
		}
		if cc.accounts == nil {
			cc.accounts = map[string]*accountLimits{}
		}
		cc.accounts[name] = &l
	}
	return cc, nil
}

// accountLimitsOf compiles limits, taking zero fields from inherit.
func accountLimitsOf(a AccountLimits, account string, inherit *accountLimits) (accountLimits, error) {
	where := ""
	if account != "" {
		where = fmt.Sprintf("Accounts[%q].", account)
	}
	if a.DailyNotional < 0 || a.MaxPosition < 0 || a.OrderBurst < 0 {
		return accountLimits{}, fmt.Errorf("%w: %sDailyNotional, MaxPosition and OrderBurst must not be negative", ErrInvalidConfig, where)
	}
	if math.IsNaN(a.OrderRate) || math.IsInf(a.OrderRate, 0) || a.OrderRate < 0 || (a.OrderRate > 0 && a.OrderRate < 1e-9) || a.OrderRate > 1e9 {
		return accountLimits{}, fmt.Errorf("%w: %sOrderRate %v is not 0 or in [1e-9, 1e9] orders a second", ErrInvalidConfig, where, a.OrderRate)
	}
	l := accountLimits{dailyNotional: a.DailyNotional, maxPosition: a.MaxPosition}
	if inherit != nil {
		if l.dailyNotional == 0 {
			l.dailyNotional = inherit.dailyNotional
		}
		if l.maxPosition == 0 {
			l.maxPosition = inherit.maxPosition
		}
	}
	// The burst tolerance is the emission interval times the burst less
	// one, in nanoseconds; a product that does not fit is refused rather
	// than wrapped into a tolerance that would let every order through.
	tolerance := func(burst int) (int64, error) {
		t, ok := checked.Mul(l.interval, int64(max(burst, 1)-1))
		if !ok {
			return 0, fmt.Errorf("%w: %sOrderBurst %d at OrderRate %v is a burst tolerance over 292 years", ErrInvalidConfig, where, burst, a.OrderRate)
		}
		return t, nil
	}
	l.burst = a.OrderBurst
	if l.burst == 0 && inherit != nil {
		l.burst = inherit.burst
	}
	var err error
	switch {
	case a.OrderRate > 0:
		// An account's own rate keeps the burst above unless it sets
		// its own: a zero field keeps the limit above.
		l.interval = max(int64(float64(time.Second)/a.OrderRate), 1)
		l.tolerance, err = tolerance(l.burst)
	case inherit != nil:
		l.interval, l.tolerance = inherit.interval, inherit.tolerance
		if a.OrderBurst > 0 && l.interval > 0 {
			l.tolerance, err = tolerance(a.OrderBurst)
		}
	}
	if err != nil {
		return accountLimits{}, err
	}
	return l, nil
}

// account returns an account's limits.
func (c *compiled) account(name string) *accountLimits {
	if c.accounts != nil {
		if l := c.accounts[name]; l != nil {
			return l
		}
	}
	return &c.defaults
}

// multiplier returns an instrument's notional per price unit and lot.
func (c *compiled) multiplier(instrument string) int64 {
	if c.cfg.Multipliers != nil {
		if m, ok := c.cfg.Multipliers[instrument]; ok {
			return m
		}
	}
	return 1
}
