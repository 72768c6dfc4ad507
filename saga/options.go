package saga

import (
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a Coordinator. Options take values and the last one
// wins; a zero or nil argument keeps the default.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	backoff, maxBackoff  time.Duration
	compensationAttempts int
	tp                   trace.TracerProvider
	mp                   metric.MeterProvider
}

func newConfig(opts []Option) config {
	c := config{backoff: 10 * time.Millisecond, maxBackoff: time.Second, compensationAttempts: 10}
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
	return c
}

// WithBackoff sets the first wait between attempts of an action or
// compensation and its cap (defaults 10ms and 1s; exponential, full
// jitter, as errs.Retry).
func WithBackoff(initial, cap time.Duration) Option {
	return optionFunc(func(c *config) {
		if initial > 0 {
			c.backoff = initial
		}
		if cap > 0 {
			c.maxBackoff = cap
		}
	})
}

// WithCompensationAttempts bounds how many times a compensation is tried
// before the saga is marked Stuck (default 10).
func WithCompensationAttempts(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.compensationAttempts = n
		}
	})
}

// WithTracerProvider sets where spans go (default otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets where metrics go (default otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}
