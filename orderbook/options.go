package orderbook

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ErrInvalidConfig is returned by NewEngine and OpenEngine for an option
// value out of range, a nil log, or a self-trade prevention policy that
// contradicts the one an existing log was written with.
var ErrInvalidConfig = errors.New("orderbook: invalid engine configuration")

// Option configures an Engine. Options take values and the last one wins;
// a nil or zero argument keeps the default.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

const (
	defaultQueueSize = 1 << 16
	defaultBatchSize = 1 << 10
	maxQueueSize     = 1 << 30
)

type config struct {
	stp          STP
	stpSet       bool
	queueSize    int
	batchSize    int
	sync         bool
	stream       Handler
	tp           trace.TracerProvider
	mp           metric.MeterProvider
	errorHandler func(error)
}

func newConfig(opts []Option) (config, error) {
	c := config{queueSize: defaultQueueSize, batchSize: defaultBatchSize}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	switch {
	case c.stp > CancelBoth:
		return c, fmt.Errorf("%w: self-trade prevention policy %d", ErrInvalidConfig, c.stp)
	case c.queueSize < 1 || c.queueSize > maxQueueSize:
		return c, fmt.Errorf("%w: queue size %d not in [1, %d]", ErrInvalidConfig, c.queueSize, maxQueueSize)
	case c.batchSize < 1 || c.batchSize > maxQueueSize:
		return c, fmt.Errorf("%w: batch size %d not in [1, %d]", ErrInvalidConfig, c.batchSize, maxQueueSize)
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
	return c, nil
}

// WithSTP sets the book's self-trade prevention policy (default
// CancelNewest). OpenEngine on an existing log takes the policy from the
// log and fails with ErrInvalidConfig if this option asks for another.
func WithSTP(policy STP) Option {
	return optionFunc(func(c *config) { c.stp, c.stpSet = policy, true })
}

// WithQueueSize sets how many commands may wait for the matching
// goroutine (default 65,536, rounded up to a power of two). Send blocks
// while the queue is full.
func WithQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n != 0 {
			c.queueSize = n
		}
	})
}

// WithBatchSize sets the most commands the matching goroutine takes from
// the queue, logs in one write and traces in one span (default 1,024).
func WithBatchSize(n int) Option {
	return optionFunc(func(c *config) {
		if n != 0 {
			c.batchSize = n
		}
	})
}

// WithSync makes the engine sync the log to stable storage after every
// batch, before matching it, when the log has a Sync method (an *os.File
// does). Without it (the default) a logged command survives a crash of
// the process but not necessarily of the machine.
func WithSync(sync bool) Option {
	return optionFunc(func(c *config) { c.sync = sync })
}

// WithEventStream sets a handler that sees the result of every command,
// in log order, after it is matched: the engine's event stream, for
// market data, drop copies or persistence. It runs on the matching
// goroutine before the command's own handler; see Handler.
func WithEventStream(h Handler) Option {
	return optionFunc(func(c *config) {
		if h != nil {
			c.stream = h
		}
	})
}

// WithTracerProvider sets where the engine's spans go (default
// otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets where the engine's metrics go (default
// otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// WithErrorHandler sets what receives errors that no caller is waiting
// for: a log write failure (also reported to every command it affected),
// a panic in a handler or the event stream, as an error wrapping a
// *panics.Error, and a runtime.Goexit in one, as an error wrapping
// panics.ErrGoexit (default otel.Handle). f runs on the matching
// goroutine; if it panics or calls runtime.Goexit itself, the error and
// that go to otel.Handle and matching goes on.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.errorHandler = f
		}
	})
}
