package twopc

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a Coordinator. Options take values and the last one
// wins; a zero or nil argument keeps the default, and a negative
// duration or count makes New return ErrInvalidOption (it is a bug, not
// a request for the default).
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prepareTimeout      time.Duration
	backoff, maxBackoff time.Duration
	// The retry budget of each participant's commit or abort.
	attempts int
	elapsed  time.Duration
	tp       trace.TracerProvider
	mp       metric.MeterProvider
}

func newConfig(opts []Option) config {
	c := config{prepareTimeout: 10 * time.Second, backoff: 10 * time.Millisecond, maxBackoff: time.Second,
		attempts: defaultAttempts, elapsed: defaultElapsed}
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

// validate rejects what an option set negative.
func (c *config) validate() error {
	for _, v := range []struct {
		name string
		bad  bool
	}{
		{"WithPrepareTimeout", c.prepareTimeout < 0},
		{"WithBackoff", c.backoff < 0 || c.maxBackoff < 0},
		{"WithRetryBudget", c.attempts < 0 || c.elapsed < 0},
	} {
		if v.bad {
			return fmt.Errorf("%w: %s with a negative value", ErrInvalidOption, v.name)
		}
	}
	return nil
}

// WithPrepareTimeout bounds each participant's Prepare (default 10s); a
// participant that takes longer fails the transaction, which aborts.
func WithPrepareTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d != 0 {
			c.prepareTimeout = d
		}
	})
}

// WithBackoff sets the first wait between retries of a commit or abort
// and its cap (defaults 10ms and 1s).
func WithBackoff(initial, cap time.Duration) Option {
	return optionFunc(func(c *config) {
		if initial != 0 {
			c.backoff = initial
		}
		if cap != 0 {
			c.maxBackoff = cap
		}
	})
}

// Defaults of WithRetryBudget.
const (
	defaultAttempts = 20
	defaultElapsed  = 30 * time.Second
)

// WithRetryBudget bounds phase two: each participant's commit or abort
// of a transaction is tried at most attempts times, and all its attempts
// together get elapsed (their context ends then; a Resource must return
// when its context ends). Defaults: 20 attempts within 30s, whichever
// runs out first. A participant that has not acknowledged within its
// budget leaves the transaction in the log with its decision: Run and
// Recover return an *InDoubtError for it, Recover goes on with the other
// transactions, and a later Recover tries it again.
func WithRetryBudget(attempts int, elapsed time.Duration) Option {
	return optionFunc(func(c *config) {
		if attempts != 0 {
			c.attempts = attempts
		}
		if elapsed != 0 {
			c.elapsed = elapsed
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
