package risk

import (
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures how an Engine is wired: user rules, telemetry, the
// clock. Limits are not options; they are a Config. Options take values
// and the last one wins; a nil argument keeps the default.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	rules        []userRule
	clock        func() time.Time
	spans        bool
	tp           trace.TracerProvider
	mp           metric.MeterProvider
	errorHandler func(error)
}

type userRule struct {
	priority int
	rule     Rule
}

func newConfig(opts []Option) config {
	c := config{clock: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.errorHandler == nil {
		c.errorHandler = otel.Handle
	}
	return c
}

// WithRule adds a user rule at a priority: rules run from the lowest
// priority up, and a user rule runs after the built-in rules of equal or
// lower priority (100 kill switch, 200 restricted, 300 max quantity, 400
// max notional, 500 price band, 600 order rate, 700 size anomaly, 800
// position, 900 daily notional). A rule that is also a Reserver holds
// and releases like the built-in ones. Several WithRule options add
// several rules.
func WithRule(priority int, r Rule) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.rules = append(c.rules, userRule{priority, r})
		}
	})
}

// WithClock sets where the engine reads the time, for the order rate and
// the day boundary (default time.Now). A clock that panics rejects the
// check with ReasonPanic, or fails the fill, with the *panics.Error.
// Time never goes back for an account: a reading older than one already
// seen counts as that one, so a reading far in the future holds the
// account's day and rate there until the clock catches up (fail closed;
// see the package doc).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.clock = now
		}
	})
}

// WithCheckSpans makes every check a span ("risk.check", a child of the
// caller's), for debugging; off by default, since a check is far cheaper
// than a span.
func WithCheckSpans(on bool) Option {
	return optionFunc(func(c *config) { c.spans = on })
}

// WithTracerProvider sets where check spans go when WithCheckSpans is on
// (default otel.GetTracerProvider()). Rejection events go to the caller's
// span whatever the provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets where the rejection counter goes (default
// otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// WithErrorHandler sets what receives the panics of user callbacks during
// a check (default otel.Handle): a Rule's Check, a Reserver's Release, the
// clock. It is called once the rejected check has given back everything
// it reserved and freed the order's ID, so a slow handler holds nothing. Each comes as an error wrapping the *panics.Error, with the
// panic value and stack; errors.As finds it. A panic in the handler
// itself is dropped. Panics in Engine.Fill and Engine.Release are
// returned by those calls instead.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.errorHandler = f
		}
	})
}
