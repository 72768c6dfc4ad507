package otelx

import (
	"math"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Option configures [Setup]. Options take values and the last one wins; a nil
// or zero argument is ignored and the default (or the environment) is kept.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds what the options set. A zero field means "not set by code":
// the environment or the default then decides (see resolve in env.go).
type config struct {
	serviceName    string
	serviceVersion string
	attrs          []attribute.KeyValue
	endpoint       string
	sampler        sdktrace.Sampler
	spanBudget     float64
	spanExporter   sdktrace.SpanExporter
	metricExporter sdkmetric.Exporter
	metricReader   sdkmetric.Reader
	noGlobals      bool
	batchTimeout   time.Duration
	exportTimeout  time.Duration
	maxQueueSize   int
	metricInterval time.Duration
	leakThreshold  time.Duration
	noLeakTracking bool
	errorHandler   func(error)
}

func newConfig(opts []Option) config {
	c := config{errorHandler: otel.Handle}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithServiceName sets the service.name resource attribute. It wins over
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.serviceName = name
		}
	})
}

// WithServiceVersion sets the service.version resource attribute. It wins
// over a service.version in OTEL_RESOURCE_ATTRIBUTES.
func WithServiceVersion(version string) Option {
	return optionFunc(func(c *config) {
		if version != "" {
			c.serviceVersion = version
		}
	})
}

// WithResourceAttributes adds attributes to the resource. They win over the
// same keys in OTEL_RESOURCE_ATTRIBUTES. Repeated calls accumulate.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) {
		c.attrs = append(c.attrs, attrs...)
	})
}

// WithEndpoint sets the OTLP/HTTP base URL, such as "http://127.0.0.1:4318".
// Traces go to its /v1/traces path and metrics to /v1/metrics. It wins over
// OTEL_EXPORTER_OTLP_ENDPOINT and the per-signal variables. The scheme
// decides TLS: http is plain text, https uses TLS. A URL with a user,
// password, query or fragment is refused with [ErrInvalidEndpoint], since
// the exporter sends none of them: put credentials in
// OTEL_EXPORTER_OTLP_HEADERS.
func WithEndpoint(baseURL string) Option {
	return optionFunc(func(c *config) {
		if baseURL != "" {
			c.endpoint = baseURL
		}
	})
}

// WithSampler sets the sampler, such as sdktrace.ParentBased(
// sdktrace.TraceIDRatioBased(0.1)) or a [sampler.Adaptive] with options of
// your choice. It wins over OTEL_TRACES_SAMPLER. A sampler that is also an
// sdktrace.SpanProcessor (as Adaptive is, to see errors) is registered as
// one too.
//
// [sampler.Adaptive]: https://pkg.go.dev/github.com/otlpgo/otlpgo/sampler
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c *config) {
		if s != nil {
			c.sampler = s
		}
	})
}

// WithSpanBudget sets the budget, in sampled spans per second, of the
// adaptive sampler otelx installs when no sampler is chosen (default 100;
// see package sampler). It wins over OTLPGO_SPAN_BUDGET; it has no effect
// when WithSampler or OTEL_TRACES_SAMPLER choose another sampler.
func WithSpanBudget(perSecond float64) Option {
	return optionFunc(func(c *config) {
		if perSecond > 0 && !math.IsInf(perSecond, 0) {
			c.spanBudget = perSecond
		}
	})
}

// WithSpanExporter replaces the OTLP/HTTP span exporter, for example with
// tracetest.NewInMemoryExporter() in tests. Health still tracks it: its
// errors count as failed exports, and so does a panic (returned as a
// *panics.Error) or a runtime.Goexit (an error wrapping panics.ErrGoexit)
// in it; exports go on after either. It should return once its context
// ends: if it does not, [Telemetry.Shutdown] still returns when its own
// context ends, and the export goroutine ends when the exporter returns.
// It wins over OTEL_TRACES_EXPORTER.
func WithSpanExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) {
		if e != nil {
			c.spanExporter = e
		}
	})
}

// WithMetricExporter replaces the OTLP/HTTP metric exporter. Metrics are
// still read periodically and health tracks the exporter, counting a panic
// or a runtime.Goexit in it as a failed export, as [WithSpanExporter] does.
// It wins over OTEL_METRICS_EXPORTER.
func WithMetricExporter(e sdkmetric.Exporter) Option {
	return optionFunc(func(c *config) {
		if e != nil {
			c.metricExporter = e
		}
	})
}

// WithMetricReader replaces the periodic OTLP/HTTP reader with r, such as
// sdkmetric.NewManualReader() in tests that collect metrics themselves.
// Health does not track a reader's exports. It wins over
// [WithMetricExporter] and OTEL_METRICS_EXPORTER.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.metricReader = r
		}
	})
}

// WithGlobal sets whether Setup installs the providers and propagators as
// the OpenTelemetry globals. The default is true; tests usually pass false
// and use [Telemetry.TracerProvider] and [Telemetry.MeterProvider].
func WithGlobal(install bool) Option {
	return optionFunc(func(c *config) { c.noGlobals = !install })
}

// WithBatchTimeout sets how long finished spans may wait before they are
// exported in a batch (default 5s). It wins over OTEL_BSP_SCHEDULE_DELAY.
func WithBatchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.batchTimeout = d
		}
	})
}

// WithExportTimeout bounds one export of a batch of spans or metrics,
// retries included (default 30s, as the specification says). A collector
// that is down shows in [Telemetry.Health] after about this long. It wins
// over OTEL_BSP_EXPORT_TIMEOUT and OTEL_METRIC_EXPORT_TIMEOUT.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.exportTimeout = d
		}
	})
}

// WithMaxQueueSize bounds the finished spans waiting for export (default
// 2048). When the queue is full new spans are dropped and counted in
// [TraceHealth].SpansDropped. It wins over OTEL_BSP_MAX_QUEUE_SIZE.
func WithMaxQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxQueueSize = n
		}
	})
}

// WithMetricInterval sets how often metrics are collected and exported
// (default 60s). It wins over OTEL_METRIC_EXPORT_INTERVAL.
func WithMetricInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.metricInterval = d
		}
	})
}

// WithLeakDetection turns span-leak tracking on or off (default on). It
// costs about 30 ns per recorded span. With it off, [SpanHealth].Open and
// OldestOpen stay empty.
func WithLeakDetection(on bool) Option {
	return optionFunc(func(c *config) { c.noLeakTracking = !on })
}

// WithLeakThreshold sets the age past which an open span counts as leaked
// and makes health degraded (default 1 minute). Raise it for services with
// long-lived spans, such as streams.
func WithLeakThreshold(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.leakThreshold = d
		}
	})
}

// WithErrorHandler receives span and metric export errors, which also
// show in [Telemetry.Health], with configured header values hidden. The
// default is otel.Handle, which logs them. A panic or a runtime.Goexit in
// the handler goes to otel.Handle as an error; exports go on.
// The SDK's metric reader also reports its errors to otel.Handle itself.
func WithErrorHandler(h func(error)) Option {
	return optionFunc(func(c *config) {
		if h != nil {
			c.errorHandler = h
		}
	})
}
