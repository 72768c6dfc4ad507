package otelx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/sampler"
)

// Telemetry is what [Setup] built: a tracer provider and a meter provider
// exporting over OTLP/HTTP, with health and leak tracking. It is safe for
// concurrent use by multiple goroutines and must not be copied.
//
// Get one from Setup. The zero Telemetry does not panic: it behaves as if
// OTEL_SDK_DISABLED were true, with no-op providers.
type Telemetry struct {
	// All fields are immutable after Setup.
	tp        trace.TracerProvider
	mp        metric.MeterProvider
	sdkTP     *sdktrace.TracerProvider // nil when disabled
	sdkMP     *sdkmetric.MeterProvider // nil when disabled
	batch     *batchProcessor          // nil when traces are not exported
	leaks     *leakTracker             // nil when leak detection is off
	counter   *countingSampler         // nil when disabled
	adaptive  *sampler.Adaptive        // nil unless the sampler is one
	traces    *exportStats
	metrics   *exportStats
	queueCap  int
	threshold time.Duration
	settings  []Setting
	disabled  bool
	now       func() time.Time

	// The OTLP exporters' HTTP clients, nil for other exporters: Shutdown
	// closes their idle connections.
	traceClient, metricClient *http.Client

	shutdownOnce sync.Once
	shutdown     chan struct{} // closed when Shutdown starts
}

// Setup builds the OpenTelemetry SDK for traces and metrics, exporting over
// OTLP/HTTP, and by default installs it, with the propagators
// OTEL_PROPAGATORS names (W3C tracecontext and baggage by default), as the
// global providers. Call [Telemetry.Shutdown] before the
// program exits, or the last spans are lost.
//
// Settings come, in order of precedence, from opts, from the standard OTEL_*
// environment variables, and from the specification's defaults;
// [Telemetry.Health] lists each with its source. OTEL_SDK_DISABLED=true
// overrides everything and gives no-op providers (propagators are still
// installed, so traces stay connected through this service).
//
// Setup returns an error wrapping [ErrInvalidEndpoint], [ErrUnsupported] or
// [ErrInvalidValue] (an [*EnvError] when the environment is at fault) for
// configuration it cannot honour; it does not contact the collector, so an
// unreachable collector shows later in Health, not here. Neither its errors
// nor Health show an endpoint's credentials or a header's value.
func Setup(ctx context.Context, opts ...Option) (*Telemetry, error) {
	cfg := newConfig(opts)
	t := &Telemetry{
		now:       time.Now,
		shutdown:  make(chan struct{}),
		threshold: cfg.leakThreshold,
	}
	if t.threshold == 0 {
		t.threshold = defaultLeakThreshold
	}
	p, err := prepare(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	t.settings = p.settings
	if p.disabled {
		t.disabled = true
		t.tp = tracenoop.NewTracerProvider()
		t.mp = metricnoop.NewMeterProvider()
		t.install(&cfg, p.propagator)
		return t, nil
	}
	r, res := p.resolved, p.resource

	// Traces: counting sampler, leak tracker, batching to the exporter.
	t.counter = &countingSampler{Sampler: r.sampler}
	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(t.counter),
	}
	if sp, ok := r.sampler.(sdktrace.SpanProcessor); ok {
		// An adaptive sampler sees spans end to learn the error ratio.
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(sp))
	}
	t.adaptive, _ = r.sampler.(*sampler.Adaptive)
	if !cfg.noLeakTracking {
		t.leaks = &leakTracker{}
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(t.leaks))
	}
	secrets := newSecretMask(cfg.endpoint)
	t.traces = &exportStats{name: r.tracesExporter, endpoint: redact("traces.endpoint", r.tracesURL), now: t.now, secrets: secrets}
	var spanExp sdktrace.SpanExporter
	switch r.tracesExporter {
	case "custom":
		spanExp = cfg.spanExporter
		t.traces.name = fmt.Sprintf("custom (%T)", spanExp)
	case "otlp":
		if t.traceClient, err = newExporterClient("TRACES"); err != nil {
			return nil, err
		}
		if spanExp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.tracesURL),
			otlptracehttp.WithHTTPClient(t.traceClient)); err != nil {
			return nil, fmt.Errorf("otelx: trace exporter: %w", err)
		}
	}
	if spanExp != nil {
		t.batch = newBatchProcessor(spanExporter{SpanExporter: spanExp, stats: t.traces}, r, cfg.errorHandler)
		t.queueCap = r.maxQueueSize
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(t.batch))
	}
	t.sdkTP = sdktrace.NewTracerProvider(tpOpts...)
	t.tp = t.sdkTP

	// Metrics: a periodic reader on the exporter.
	t.metrics = &exportStats{name: r.metricsExporter, endpoint: redact("metrics.endpoint", r.metricsURL), now: t.now, secrets: secrets}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	var metricExp sdkmetric.Exporter
	switch {
	case cfg.metricReader != nil:
		t.metrics.name = fmt.Sprintf("custom (%T)", cfg.metricReader)
		mpOpts = append(mpOpts, sdkmetric.WithReader(cfg.metricReader))
	case r.metricsExporter == "custom":
		metricExp = cfg.metricExporter
		t.metrics.name = fmt.Sprintf("custom (%T)", metricExp)
	case r.metricsExporter == "otlp":
		t.metricClient, err = newExporterClient("METRICS")
		if err == nil {
			metricExp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(r.metricsURL),
				otlpmetrichttp.WithHTTPClient(t.metricClient))
			if err != nil {
				err = fmt.Errorf("otelx: metric exporter: %w", err)
			}
		}
		if err != nil {
			if t.batch != nil {
				_ = t.batch.Shutdown(context.WithoutCancel(ctx))
			}
			_ = t.sdkTP.Shutdown(context.WithoutCancel(ctx))
			t.closeIdleConnections()
			return nil, err
		}
	}
	if metricExp != nil {
		reader := sdkmetric.NewPeriodicReader(metricExporter{Exporter: metricExp, stats: t.metrics, onError: cfg.errorHandler},
			sdkmetric.WithInterval(r.metricInterval), sdkmetric.WithTimeout(r.metricTimeout))
		mpOpts = append(mpOpts, sdkmetric.WithReader(reader))
	}
	t.sdkMP = sdkmetric.NewMeterProvider(mpOpts...)
	t.mp = t.sdkMP

	t.install(&cfg, p.propagator)
	return t, nil
}

// prepared is everything Setup takes from the options and the environment,
// checked, before it builds anything that runs.
type prepared struct {
	disabled   bool // OTEL_SDK_DISABLED=true: resolved and resource are nil
	propagator propagation.TextMapPropagator
	resolved   *resolved
	resource   *resource.Resource
	settings   []Setting
}

// prepare reads and checks the configuration as Setup does: it starts no
// goroutine and contacts nothing, so tests and fuzzing can call it freely.
func prepare(ctx context.Context, cfg *config) (*prepared, error) {
	prop, propSetting, err := resolvePropagators()
	if err != nil {
		return nil, err
	}
	disabled, err := sdkDisabled()
	if err != nil {
		return nil, err
	}
	if disabled {
		return &prepared{disabled: true, propagator: prop, settings: []Setting{
			{Name: "sdk.disabled", Value: "true", Source: SourceEnv}, propSetting}}, nil
	}
	r, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkResourceAttributes(); err != nil {
		return nil, err
	}
	res, err := buildResource(ctx, cfg, r)
	if err != nil {
		return nil, err
	}
	r.settings = append(r.settings, propSetting)
	return &prepared{propagator: prop, resolved: r, resource: res, settings: r.settings}, nil
}

// install sets the globals unless the caller opted out.
func (t *Telemetry) install(cfg *config, prop propagation.TextMapPropagator) {
	if cfg.noGlobals {
		return
	}
	otel.SetTracerProvider(t.tp)
	otel.SetMeterProvider(t.mp)
	otel.SetTextMapPropagator(prop)
}

// buildResource merges, lowest precedence first: the default service name,
// host and SDK attributes, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME,
// then the attributes set by options.
func buildResource(ctx context.Context, cfg *config, r *resolved) (*resource.Resource, error) {
	var attrs []resource.Option
	explicit := append([]attribute.KeyValue(nil), cfg.attrs...)
	if cfg.serviceName != "" {
		explicit = append(explicit, semconv.ServiceName(cfg.serviceName))
	}
	if cfg.serviceVersion != "" {
		explicit = append(explicit, semconv.ServiceVersion(cfg.serviceVersion))
	}
	attrs = append(attrs,
		resource.WithAttributes(semconv.ServiceName("unknown_service:"+filepath.Base(os.Args[0]))),
		resource.WithHost(),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(explicit...),
	)
	res, err := resource.New(ctx, attrs...)
	if err != nil {
		if errors.Is(err, resource.ErrPartialResource) {
			v, _ := envLookup("OTEL_RESOURCE_ATTRIBUTES")
			return nil, envError("OTEL_RESOURCE_ATTRIBUTES", v,
				fmt.Errorf("%w: want key1=value1,key2=value2 with URL-encoded values: %v", ErrInvalidValue, err))
		}
		return nil, fmt.Errorf("otelx: resource: %w", err)
	}

	// Report service.name and service.version with their sources.
	envKeys := resourceEnvKeys()
	optionKeys := map[attribute.Key]bool{}
	for _, kv := range explicit {
		optionKeys[kv.Key] = true
	}
	for _, key := range []attribute.Key{semconv.ServiceNameKey, semconv.ServiceVersionKey} {
		v, ok := res.Set().Value(key)
		if !ok {
			continue
		}
		envVar := ""
		if _, set := envLookup("OTEL_SERVICE_NAME"); set && key == semconv.ServiceNameKey {
			envVar = "OTEL_SERVICE_NAME"
		} else if envKeys[key] {
			envVar = "OTEL_RESOURCE_ATTRIBUTES"
		}
		src := SourceDefault
		switch {
		case optionKeys[key]:
			src = SourceOption
		case envVar != "":
			src = SourceEnv
		}
		r.add(string(key), v.String(), src, envVar)
	}
	return res, nil
}

// resourceEnvKeys returns the keys set in OTEL_RESOURCE_ATTRIBUTES
// (key1=value1,key2=value2).
func resourceEnvKeys() map[attribute.Key]bool {
	keys := map[attribute.Key]bool{}
	v, _ := envLookup("OTEL_RESOURCE_ATTRIBUTES")
	for pair := range strings.SplitSeq(v, ",") {
		if k, _, ok := strings.Cut(pair, "="); ok {
			keys[attribute.Key(strings.TrimSpace(k))] = true
		}
	}
	return keys
}

// TracerProvider returns the tracer provider: the SDK's, or a no-op one
// when OTEL_SDK_DISABLED=true.
func (t *Telemetry) TracerProvider() trace.TracerProvider {
	if t.tp == nil {
		return tracenoop.NewTracerProvider()
	}
	return t.tp
}

// MeterProvider returns the meter provider: the SDK's, or a no-op one when
// OTEL_SDK_DISABLED=true.
func (t *Telemetry) MeterProvider() metric.MeterProvider {
	if t.mp == nil {
		return metricnoop.NewMeterProvider()
	}
	return t.mp
}

// ForceFlush exports every finished span and the current metrics now, and
// returns the exporters' errors.
func (t *Telemetry) ForceFlush(ctx context.Context) error {
	if t.sdkTP == nil { // disabled, or the zero Telemetry
		return nil
	}
	return errors.Join(t.sdkTP.ForceFlush(ctx), t.sdkMP.ForceFlush(ctx))
}

// Shutdown flushes what is queued and stops the providers and exporters. If
// ctx ends first, exports in flight are abandoned and ctx's error is
// returned; no goroutine of otelx is left running either way, nor any
// keep-alive connection of the OTLP exporters, with one exception: a user's
// exporter ([WithSpanExporter], [WithMetricExporter]) that ignores the
// cancellation of its context keeps the goroutine that called it running
// until it returns (a span exporter is then shut down by that goroutine). It does not
// reset the globals: spans started afterwards are not recorded. Calls after
// the first do nothing and return nil.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var err error
	t.shutdownOnce.Do(func() {
		if t.shutdown != nil {
			close(t.shutdown)
		}
		if t.sdkTP == nil { // disabled, or the zero Telemetry
			return
		}
		// Stop the batch processor first and directly: the SDK's provider
		// skips its processors' Shutdown when ctx has already ended, which
		// would leave the export goroutine running.
		var errs []error
		if t.batch != nil {
			errs = append(errs, t.batch.Shutdown(ctx))
		}
		if t.leaks != nil {
			_ = t.leaks.Shutdown(ctx) // never fails; the SDK may skip it
		}
		errs = append(errs, t.sdkTP.Shutdown(ctx), t.sdkMP.Shutdown(ctx))
		t.closeIdleConnections()
		err = joinOnce(ctx, errs)
	})
	return err
}

// closeIdleConnections closes the keep-alive connections the OTLP
// exporters left open, so that no goroutine of net/http outlives Shutdown.
// A connection still busy with an export that Shutdown abandoned is closed
// by the collector or once idle for 90 seconds.
func (t *Telemetry) closeIdleConnections() {
	for _, c := range []*http.Client{t.traceClient, t.metricClient} {
		if c != nil {
			c.CloseIdleConnections()
		}
	}
}

// joinOnce joins errs, flattening joined errors, and reports ctx's error
// once however many parts returned it (and only if one did).
func joinOnce(ctx context.Context, errs []error) error {
	cerr := ctx.Err()
	var leaves []error
	var flatten func(error)
	flatten = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				flatten(inner)
			}
		} else if e != nil {
			leaves = append(leaves, e)
		}
	}
	for _, e := range errs {
		flatten(e)
	}
	var out []error
	sawCtx := false
	for _, e := range leaves {
		if cerr != nil && errors.Is(e, cerr) {
			sawCtx = true
			continue
		}
		out = append(out, e)
	}
	if sawCtx {
		out = append([]error{cerr}, out...)
	}
	return errors.Join(out...)
}

// Health returns a snapshot of exporter status, span counts and open spans.
// It is cheap enough to call on every request to a health endpoint: it
// reads counters and scans the leak table (4096 slots) once.
func (t *Telemetry) Health() Health {
	h := Health{Settings: slices.Clone(t.settings)}
	select {
	case <-t.shutdown:
		h.Shutdown = true
	default:
	}
	if t.disabled {
		h.Status = StatusDisabled
		h.Reasons = []string{"OTEL_SDK_DISABLED=true: telemetry is off"}
		return h
	}
	if t.sdkTP == nil {
		h.Status = StatusDisabled
		h.Reasons = []string{"zero Telemetry: get one from otelx.Setup"}
		return h
	}
	var recentDrops int64
	h.Traces.ExporterStats, h.Traces.SpansExported, h.Traces.SpansFailed = t.traces.snapshot()
	h.Metrics, _, _ = t.metrics.snapshot()
	if t.batch != nil {
		h.Traces.SpansDropped = t.batch.dropped.Load()
		h.Traces.QueueLength = t.batch.queueLen()
		h.Traces.QueueCapacity = t.queueCap
		recentDrops = t.batch.recentDrops()
	}
	// Sampled before started: the sampler counts a span as started first,
	// so this order never shows more sampled than started.
	h.Spans.Sampled = t.counter.sampled.Load()
	h.Spans.Started = t.counter.started.Load()
	if t.leaks != nil {
		t.leaks.report(&h.Spans, t.now, t.threshold)
	}
	if t.adaptive != nil {
		st := t.adaptive.Stats()
		h.Sampler = &st
	}
	h.status(recentDrops, t.threshold)
	return h
}
