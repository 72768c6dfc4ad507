package concurrency

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a WorkerPool, TracedChannel or Pipeline stage.
// Options take values and the last one wins; a nil or zero argument keeps
// the default. Options that do not apply to a type are ignored by it.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name         string
	queueSize    int
	collectAll   bool
	itemSpans    bool
	tp           trace.TracerProvider
	mp           metric.MeterProvider
	errorHandler func(error)
}

func newConfig(defaultName string, opts []Option) config {
	c := config{name: defaultName}
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

// WithName names the pool or channel in spans and metrics (the
// concurrency.pool / messaging.destination.name attribute).
func WithName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.name = name
		}
	})
}

// WithQueueSize sets how many tasks may wait for a worker (default: 64 per
// worker, at most 1<<30). Submit and Run block while it is full:
// backpressure. 0 keeps the default; NewWorkerPool returns
// ErrInvalidSize for a size below 0 or above 1<<30.
func WithQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n != 0 {
			c.queueSize = n
		}
	})
}

// WithCollectAll makes Run run every task and return all their errors
// joined, instead of stopping at the first (the default, fail fast).
func WithCollectAll(on bool) Option {
	return optionFunc(func(c *config) { c.collectAll = on })
}

// WithItemSpans makes every item a span of its own: a WorkerPool's task
// ("concurrency.pool.task"), a pipeline item's pass through each stage
// ("concurrency.pipeline.stage"), a TracedChannel's send and receive. Off
// by default: a recorded span costs about 25 times a tiny task.
//
// Where the item belongs to a run (Run's tasks, RunPipeline's items), its
// span starts a trace of its own (trace.WithNewRoot) with a link to the
// run's span, and a pipeline item's later stages are children of its
// earlier ones; where the item comes with its own sender's context (a
// Submit's ctx, a TracedChannel's Send), its span continues that
// sender's trace. See # Traces in the package doc.
func WithItemSpans(on bool) Option {
	return optionFunc(func(c *config) { c.itemSpans = on })
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

// WithErrorHandler sets what receives errors no caller waits for: a task
// submitted without a callback that failed, a Submit callback that
// panicked (default otel.Handle). A panic in the handler itself is
// recovered and dropped.
func WithErrorHandler(f func(error)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.errorHandler = f
		}
	})
}
