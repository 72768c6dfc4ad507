package otelx_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/otelx"
	"github.com/otlpgo/otlpgo/panics"
)

// setup builds a Telemetry that exports to memory and does not touch the
// globals; it is shut down in t.Cleanup.
func setup(t testing.TB, opts ...otelx.Option) (*otelx.Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	opts = append([]otelx.Option{
		otelx.WithSpanExporter(exp),
		otelx.WithMetricExporter(&memMetrics{}),
		otelx.WithGlobal(false),
		otelx.WithErrorHandler(func(error) {}),
	}, opts...)
	tel, err := otelx.Setup(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel, exp
}

// memMetrics is a metric exporter that keeps what it is given.
type memMetrics struct {
	mu  sync.Mutex
	got []metricdata.ResourceMetrics
	err error
}

func (*memMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (*memMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (m *memMetrics) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.got = append(m.got, *rm)
	return nil
}

func (*memMetrics) ForceFlush(context.Context) error { return nil }
func (*memMetrics) Shutdown(context.Context) error   { return nil }

// checkInvariants asserts what must hold of any Health: no span is counted
// twice, and, once quiet (no span open, everything flushed), every sampled
// span is accounted for as exported, failed or dropped: none is lost
// silently.
func checkInvariants(t testing.TB, h otelx.Health, quiet bool) {
	t.Helper()
	tr := h.Traces
	accounted := tr.SpansExported + tr.SpansFailed + tr.SpansDropped
	if accounted > h.Spans.Sampled || h.Spans.Sampled > h.Spans.Started || h.Spans.Open < 0 ||
		tr.QueueLength > tr.QueueCapacity {
		t.Errorf("impossible counts: spans %+v traces %+v", h.Spans, tr)
	}
	if quiet && (accounted != h.Spans.Sampled || tr.QueueLength != 0 || h.Spans.Open != 0) {
		t.Errorf("quiet, yet sampled %d != exported %d + failed %d + dropped %d (queue %d, open %d)",
			h.Spans.Sampled, tr.SpansExported, tr.SpansFailed, tr.SpansDropped, tr.QueueLength, h.Spans.Open)
	}
}

func TestSetupExportsSpansAndMetrics(t *testing.T) {
	tel, exp := setup(t, otelx.WithServiceName("checkout"), otelx.WithServiceVersion("1.2.3"),
		otelx.WithResourceAttributes(attribute.String("deployment.environment.name", "test")))
	ctx := context.Background()
	tracer := tel.TracerProvider().Tracer("test")
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("orders")
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_, span := tracer.Start(ctx, "order")
		counter.Add(ctx, 1)
		span.End()
	}
	if err := tel.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 10 {
		t.Fatalf("exported %d spans, want 10", len(spans))
	}
	res := spans[0].Resource.Set()
	for k, want := range map[attribute.Key]string{
		"service.name": "checkout", "service.version": "1.2.3", "deployment.environment.name": "test",
		"telemetry.sdk.language": "go",
	} {
		if v, _ := res.Value(k); v.String() != want {
			t.Errorf("resource %s = %q, want %q", k, v.String(), want)
		}
	}
	if _, ok := res.Value("host.name"); !ok {
		t.Error("resource has no host.name")
	}
	h := tel.Health()
	checkInvariants(t, h, true)
	if h.Status != otelx.StatusHealthy || h.Traces.SpansExported != 10 || h.Spans.Started != 10 ||
		h.Spans.Sampled != 10 || h.Spans.Open != 0 || h.Traces.Exports == 0 || h.Metrics.Exports == 0 {
		t.Errorf("health after 10 spans: %+v", h)
	}
}

func TestSetupInstallsGlobals(t *testing.T) {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetMeterProvider(prevMP)
		otel.SetTextMapPropagator(prevProp)
	})
	tel, _ := setup(t, otelx.WithGlobal(true))
	if otel.GetTracerProvider() != tel.TracerProvider() || otel.GetMeterProvider() != tel.MeterProvider() {
		t.Fatal("Setup did not install its providers as globals")
	}
	// The propagator carries the span context and baggage through headers.
	ctx, span := otel.Tracer("test").Start(context.Background(), "parent")
	defer span.End()
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if !strings.Contains(carrier.Get("traceparent"), span.SpanContext().TraceID().String()) {
		t.Fatalf("traceparent %q does not carry trace %s", carrier.Get("traceparent"), span.SpanContext().TraceID())
	}
	got := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), carrier))
	if got.TraceID() != span.SpanContext().TraceID() || !got.IsRemote() {
		t.Fatalf("extracted %v, want remote %v", got, span.SpanContext())
	}
}

func TestSetupWithoutGlobalsLeavesThemAlone(t *testing.T) {
	before := otel.GetTracerProvider()
	tel, _ := setup(t)
	if otel.GetTracerProvider() != before || otel.GetTracerProvider() == tel.TracerProvider() {
		t.Fatal("WithGlobal(false) changed the global tracer provider")
	}
}

func TestSDKDisabledGivesNoopProviders(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "TRUE")
	t.Setenv("OTEL_TRACES_SAMPLER", "not-a-sampler") // ignored: disabled wins
	tel, exp := setup(t, otelx.WithServiceName("svc"))
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "op")
	span.End()
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("span from a disabled SDK is recording or has a context")
	}
	if err := tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("disabled SDK exported %d spans", n)
	}
	if h := tel.Health(); h.Status != otelx.StatusDisabled {
		t.Errorf("status %q, want disabled", h.Status)
	}
}

func setting(t *testing.T, h otelx.Health, name string) otelx.Setting {
	t.Helper()
	for _, s := range h.Settings {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no setting %q in %+v", name, h.Settings)
	return otelx.Setting{}
}

func TestPrecedenceOptionThenEnvThenDefault(t *testing.T) {
	t.Run("env over default", func(t *testing.T) {
		t.Setenv("OTEL_SERVICE_NAME", "from-env")
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/base/")
		t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
		t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100")
		tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithSpanExporter(tracetest.NewNoopExporter()))
		if err != nil {
			t.Fatal(err)
		}
		defer tel.Shutdown(context.Background())
		h := tel.Health()
		want := map[string]otelx.Setting{
			"service.name":          {Value: "from-env", Source: otelx.SourceEnv},
			"metrics.endpoint":      {Value: "http://127.0.0.1:9/base/v1/metrics", Source: otelx.SourceEnv},
			"traces.sampler":        {Value: "ParentBased{root:TraceIDRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}", Source: otelx.SourceEnv},
			"traces.max_queue_size": {Value: "100", Source: otelx.SourceEnv},
			"traces.batch_timeout":  {Value: "5s", Source: otelx.SourceDefault},
			"traces.exporter":       {Value: "custom (*tracetest.NoopExporter)", Source: otelx.SourceOption},
		}
		for name, w := range want {
			got := setting(t, h, name)
			if got.Value != w.Value || got.Source != w.Source || got.IgnoredEnv != "" {
				t.Errorf("%s = %+v, want value %q from %s", name, got, w.Value, w.Source)
			}
		}
		if h.Traces.QueueCapacity != 100 {
			t.Errorf("queue capacity %d, want 100 from OTEL_BSP_MAX_QUEUE_SIZE", h.Traces.QueueCapacity)
		}
	})
	t.Run("option over env", func(t *testing.T) {
		t.Setenv("OTEL_SERVICE_NAME", "from-env")
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/traces")
		t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
		tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false),
			otelx.WithServiceName("from-code"), otelx.WithEndpoint("http://127.0.0.1:8"),
			otelx.WithSampler(sdktrace.AlwaysSample()), otelx.WithMetricExporter(&memMetrics{}),
			otelx.WithErrorHandler(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		defer tel.Shutdown(context.Background())
		h := tel.Health()
		for name, w := range map[string]otelx.Setting{
			"service.name":    {Value: "from-code", IgnoredEnv: "OTEL_SERVICE_NAME=from-env"},
			"traces.endpoint": {Value: "http://127.0.0.1:8/v1/traces", IgnoredEnv: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:9/traces"},
			"traces.sampler":  {Value: "AlwaysOnSampler", IgnoredEnv: "OTEL_TRACES_SAMPLER=always_off"},
		} {
			got := setting(t, h, name)
			if got.Value != w.Value || got.Source != otelx.SourceOption || got.IgnoredEnv != w.IgnoredEnv {
				t.Errorf("%s = %+v, want %q from option ignoring %q", name, got, w.Value, w.IgnoredEnv)
			}
		}
		_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "op")
		defer span.End()
		if !span.SpanContext().IsSampled() {
			t.Error("WithSampler(AlwaysSample) lost to OTEL_TRACES_SAMPLER=always_off")
		}
	})
	t.Run("default", func(t *testing.T) {
		tel, _ := setup(t)
		h := tel.Health()
		if s := setting(t, h, "traces.sampler"); s.Source != otelx.SourceDefault || !strings.HasPrefix(s.Value, "Adaptive{budget:100/s") {
			t.Errorf("default sampler %+v", s)
		}
		if h.Sampler == nil || h.Sampler.Probability != 1 {
			t.Errorf("health of the default adaptive sampler: %+v", h.Sampler)
		}
		if s := setting(t, h, "service.name"); s.Source != otelx.SourceDefault || !strings.HasPrefix(s.Value, "unknown_service:") {
			t.Errorf("default service.name %+v", s)
		}
	})
}

func TestAdaptiveSamplerBudget(t *testing.T) {
	tests := []struct {
		name, budget string
		opts         []otelx.Option
		want         otelx.Setting
	}{
		{"default", "", nil, otelx.Setting{Value: "100", Source: otelx.SourceDefault}},
		{"env", "250", nil, otelx.Setting{Value: "250", Source: otelx.SourceEnv}},
		{"option over env", "250", []otelx.Option{otelx.WithSpanBudget(40)},
			otelx.Setting{Value: "40", Source: otelx.SourceOption, IgnoredEnv: "OTLPGO_SPAN_BUDGET=250"}},
		{"option alone", "", []otelx.Option{otelx.WithSpanBudget(40)}, otelx.Setting{Value: "40", Source: otelx.SourceOption}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(otelx.EnvSpanBudget, tt.budget)
			tel, _ := setup(t, tt.opts...)
			h := tel.Health()
			got := setting(t, h, "traces.span_budget")
			if got.Value != tt.want.Value || got.Source != tt.want.Source || got.IgnoredEnv != tt.want.IgnoredEnv {
				t.Errorf("span budget %+v, want %+v", got, tt.want)
			}
			if s := setting(t, h, "traces.sampler"); !strings.Contains(s.Value, "budget:"+tt.want.Value+"/s") {
				t.Errorf("sampler %q does not use budget %s", s.Value, tt.want.Value)
			}
		})
	}
	t.Run("errors reach the sampler", func(t *testing.T) {
		tel, _ := setup(t)
		tracer := tel.TracerProvider().Tracer("t")
		for range 10 {
			_, s := tracer.Start(context.Background(), "request")
			s.SetStatus(codes.Error, "failed")
			s.End()
		}
		// The sampler learns the error ratio at its next adjustment; the
		// spans are recorded either way.
		if h := tel.Health(); h.Sampler == nil || h.Spans.Sampled != 10 {
			t.Fatalf("health %+v", h)
		}
	})
}

func TestBadConfigurationIsATypedError(t *testing.T) {
	tests := []struct {
		env, value string
		opts       []otelx.Option
		want       error
	}{
		{env: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "localhost:4318", want: otelx.ErrInvalidEndpoint},
		{env: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value: "ftp://x/v1/traces", want: otelx.ErrInvalidEndpoint},
		{env: "OTEL_EXPORTER_OTLP_PROTOCOL", value: "grpc", want: otelx.ErrUnsupported},
		{env: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", value: "grpc", want: otelx.ErrUnsupported},
		{env: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", value: "http/json", want: otelx.ErrUnsupported},
		{env: "OTEL_TRACES_EXPORTER", value: "zipkin", want: otelx.ErrUnsupported},
		{env: "OTEL_METRICS_EXPORTER", value: "prometheus", want: otelx.ErrUnsupported},
		{env: "OTEL_TRACES_SAMPLER", value: "jaeger_remote", want: otelx.ErrUnsupported},
		{env: "OTEL_TRACES_SAMPLER_ARG", value: "1.5", want: otelx.ErrInvalidValue},
		{env: "OTLPGO_SPAN_BUDGET", value: "-5", want: otelx.ErrInvalidValue},
		{env: "OTEL_BSP_MAX_QUEUE_SIZE", value: "-3", want: otelx.ErrInvalidValue},
		{env: "OTEL_BSP_SCHEDULE_DELAY", value: "5s", want: otelx.ErrInvalidValue},
		{env: "OTEL_METRIC_EXPORT_INTERVAL", value: "0", want: otelx.ErrInvalidValue},
		{env: "OTEL_RESOURCE_ATTRIBUTES", value: "novalue", want: otelx.ErrInvalidValue},
		{opts: []otelx.Option{otelx.WithEndpoint("127.0.0.1:4318")}, want: otelx.ErrInvalidEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv(tt.env, tt.value)
			}
			if tt.env == "OTEL_TRACES_SAMPLER_ARG" {
				t.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
			}
			tel, err := otelx.Setup(context.Background(), append(tt.opts, otelx.WithGlobal(false))...)
			if err == nil {
				tel.Shutdown(context.Background())
				t.Fatal("Setup accepted bad configuration")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var envErr *otelx.EnvError
			if (tt.env != "") != errors.As(err, &envErr) {
				t.Fatalf("errors.As(*EnvError) = %v for %v", !(tt.env != ""), err)
			}
			if envErr != nil && (envErr.Var != tt.env || envErr.Value != tt.value) {
				t.Errorf("EnvError names %s=%q, want %s=%q", envErr.Var, envErr.Value, tt.env, tt.value)
			}
		})
	}
}

func TestShutdownIsIdempotent(t *testing.T) {
	tel, exp := setup(t)
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "last")
	span.End()
	ctx := context.Background()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		// InMemoryExporter.Shutdown resets it; count through health instead.
		t.Logf("exporter kept %d spans", n)
	}
	if h := tel.Health(); !h.Shutdown || h.Status != otelx.StatusHealthy || h.Traces.SpansExported != 1 {
		t.Errorf("after Shutdown: shutdown %v, status %q, exported %d; want true, healthy, 1", h.Shutdown, h.Status, h.Traces.SpansExported)
	}
	for range 3 {
		if err := tel.Shutdown(ctx); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
	}
}

// blockingExporter blocks every export until its context ends or release is
// closed, then fails or succeeds accordingly.
type blockingExporter struct {
	release chan struct{}
	mu      sync.Mutex
	spans   int
}

func (e *blockingExporter) ExportSpans(ctx context.Context, s []sdktrace.ReadOnlySpan) error {
	select {
	case <-e.release:
		e.mu.Lock()
		e.spans += len(s)
		e.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (*blockingExporter) Shutdown(context.Context) error { return nil }

func TestShutdownHonoursContext(t *testing.T) {
	exp := &blockingExporter{release: make(chan struct{})}
	tel, _ := setup(t, otelx.WithSpanExporter(exp), otelx.WithExportTimeout(time.Hour), otelx.WithSampler(sdktrace.AlwaysSample()))
	for range 5 {
		_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "op")
		span.End()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tel.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a cancelled context = %v, want context.Canceled", err)
	}
	// The abandoned spans count as failed, not lost; goleak (TestMain)
	// checks that the export goroutine ended.
	h := tel.Health()
	if h.Traces.SpansFailed != 5 {
		t.Errorf("spans failed %d, want the 5 abandoned", h.Traces.SpansFailed)
	}
	checkInvariants(t, h, true)
}

func TestFullQueueDropsAreCounted(t *testing.T) {
	exp := &blockingExporter{release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(exp.release) }) }
	defer release() // before setup's cleanup: Shutdown would wait for the export
	const queue, total = 8, 100
	// Every span sampled: the adaptive default lowers its probability early
	// when 100 spans start within 20 ms, and fewer would be dropped.
	tel, _ := setup(t, otelx.WithSpanExporter(exp), otelx.WithMaxQueueSize(queue), otelx.WithExportTimeout(time.Hour),
		otelx.WithSampler(sdktrace.AlwaysSample()))
	tracer := tel.TracerProvider().Tracer("t")
	for range total {
		_, span := tracer.Start(context.Background(), "op")
		span.End()
	}
	h := tel.Health()
	// At most one batch (queue-size spans) is with the exporter and at most
	// queue spans wait, so at least total-2*queue were dropped.
	if h.Traces.SpansDropped < total-2*queue {
		t.Fatalf("dropped %d, want at least %d", h.Traces.SpansDropped, total-2*queue)
	}
	if h.Status != otelx.StatusDegraded || !strings.Contains(strings.Join(h.Reasons, ";"), "queue") {
		t.Errorf("status %q reasons %q, want degraded because of the queue", h.Status, h.Reasons)
	}
	release()
	if err := tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h = tel.Health()
	checkInvariants(t, h, true)
	if int(h.Traces.SpansExported) != exp.spans {
		t.Errorf("health says %d exported, exporter got %d", h.Traces.SpansExported, exp.spans)
	}
}

// failingExporter fails while fail is set.
type failingExporter struct {
	mu   sync.Mutex
	fail error
}

func (e *failingExporter) set(err error) { e.mu.Lock(); e.fail = err; e.mu.Unlock() }

func (e *failingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fail
}

func (*failingExporter) Shutdown(context.Context) error { return nil }

func TestHealthFollowsExportFailuresAndRecovery(t *testing.T) {
	exp := &failingExporter{}
	var handled []error
	var mu sync.Mutex
	tel, _ := setup(t, otelx.WithSpanExporter(exp), otelx.WithErrorHandler(func(err error) {
		mu.Lock()
		handled = append(handled, err)
		mu.Unlock()
	}))
	export := func() error {
		_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "op")
		span.End()
		return tel.ForceFlush(context.Background())
	}
	handler := tel.HealthHandler()
	get := func() (int, otelx.Health) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		var h otelx.Health
		if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
			t.Fatalf("health JSON: %v\n%s", err, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		return rec.Code, h
	}
	if err := export(); err != nil {
		t.Fatal(err)
	}
	if code, h := get(); code != http.StatusOK || h.Status != otelx.StatusHealthy {
		t.Fatalf("healthy exporter: %d %+v", code, h)
	}

	down := errors.New("connection refused")
	exp.set(down)
	for i := 1; i <= 3; i++ {
		if err := export(); !errors.Is(err, down) {
			t.Fatalf("ForceFlush = %v, want the export error", err)
		}
		code, h := get()
		want, wantCode := otelx.StatusDegraded, http.StatusOK
		if i == 3 {
			want, wantCode = otelx.StatusFailing, http.StatusServiceUnavailable
		}
		if h.Status != want || code != wantCode || h.Traces.ConsecutiveFailures != i ||
			h.Traces.LastError != down.Error() || h.Traces.LastErrorTime.IsZero() {
			t.Fatalf("after %d failures: %d %+v, want %s", i, code, h, want)
		}
	}
	mu.Lock()
	if len(handled) != 3 {
		t.Errorf("error handler saw %d errors, want 3", len(handled))
	}
	mu.Unlock()

	exp.set(nil)
	if err := export(); err != nil {
		t.Fatal(err)
	}
	code, h := get()
	if code != http.StatusOK || h.Status != otelx.StatusHealthy || h.Traces.ConsecutiveFailures != 0 ||
		h.Traces.SpansFailed != 3 || h.Traces.SpansExported != 2 || h.Traces.LastSuccess.IsZero() {
		t.Fatalf("after recovery: %d %+v", code, h)
	}
	checkInvariants(t, tel.Health(), true)
}

func TestLeakedSpansAreReported(t *testing.T) {
	tel, _ := setup(t, otelx.WithLeakThreshold(time.Nanosecond))
	tracer := tel.TracerProvider().Tracer("t")
	var leaked []trace.Span
	for _, name := range []string{"first-leak", "second-leak", "third-leak"} {
		_, s := tracer.Start(context.Background(), name)
		leaked = append(leaked, s)
	}
	for range 100 {
		_, s := tracer.Start(context.Background(), "ended")
		s.End()
	}
	h := tel.Health()
	if h.Spans.Open != 3 || h.Spans.Leaked != 3 || len(h.Spans.OldestOpen) != 3 {
		t.Fatalf("open %d leaked %d oldest %+v, want 3 each", h.Spans.Open, h.Spans.Leaked, h.Spans.OldestOpen)
	}
	for i, want := range []string{"first-leak", "second-leak", "third-leak"} {
		o := h.Spans.OldestOpen[i]
		if o.Name != want || o.SpanID != leaked[i].SpanContext().SpanID().String() || o.Age <= 0 {
			t.Errorf("oldest[%d] = %+v, want %s", i, o, want)
		}
	}
	if h.Status != otelx.StatusDegraded || !strings.Contains(h.Reasons[0], "first-leak") {
		t.Errorf("status %q reasons %q, want degraded naming first-leak", h.Status, h.Reasons)
	}
	for _, s := range leaked {
		s.End()
	}
	h = tel.Health()
	if h.Spans.Open != 0 || len(h.Spans.OldestOpen) != 0 || h.Status != otelx.StatusHealthy {
		t.Errorf("after ending: %+v", h)
	}
}

func TestLeakDetectionOff(t *testing.T) {
	tel, _ := setup(t, otelx.WithLeakDetection(false))
	_, s := tel.TracerProvider().Tracer("t").Start(context.Background(), "open")
	defer s.End()
	if h := tel.Health(); h.Spans.Open != 0 || h.Spans.Started != 1 {
		t.Errorf("leak detection off: %+v", h.Spans)
	}
}

func TestHealthConcurrentSafe(t *testing.T) {
	tel, _ := setup(t, otelx.WithMaxQueueSize(64))
	tracer := tel.TracerProvider().Tracer("t")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				_, s := tracer.Start(context.Background(), "op")
				s.End()
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			checkInvariants(t, tel.Health(), false)
		}
	})
	wg.Wait()
	if err := tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := tel.Health()
	checkInvariants(t, h, true)
	if h.Spans.Started != 2000 || h.Spans.Open != 0 {
		t.Errorf("started %d open %d, want 2000 and 0", h.Spans.Started, h.Spans.Open)
	}
}

func TestOldestOpenAreTheOldest(t *testing.T) {
	// Every span sampled: the adaptive default may lower its probability
	// early when 50 spans start within a millisecond.
	tel, _ := setup(t, otelx.WithSampler(sdktrace.AlwaysSample()))
	tracer := tel.TracerProvider().Tracer("t")
	const open = 50
	spans := make([]trace.Span, open)
	byID := map[string]int{}
	for i := range spans {
		_, spans[i] = tracer.Start(context.Background(), "open-"+strconv.Itoa(i))
		byID[spans[i].SpanContext().SpanID().String()] = i
	}
	defer func() {
		for _, s := range spans {
			s.End()
		}
	}()
	h := tel.Health()
	if h.Spans.Open != open || len(h.Spans.OldestOpen) != 5 {
		t.Fatalf("open %d, listed %d; want %d and 5", h.Spans.Open, len(h.Spans.OldestOpen), open)
	}
	// The first span always gets a slot (the table was empty), so it leads;
	// the rest are open spans in start order. (A later span can miss a slot
	// when its span ID hashes to a taken one; it is counted, not listed.)
	prev := -1
	for i, o := range h.Spans.OldestOpen {
		idx, ok := byID[o.SpanID]
		if !ok || o.Name != "open-"+strconv.Itoa(idx) || idx <= prev || (i == 0 && idx != 0) {
			t.Fatalf("oldest[%d] = %+v (span #%d after #%d)", i, o, idx, prev)
		}
		if i > 0 && o.Start.Before(h.Spans.OldestOpen[i-1].Start) {
			t.Fatalf("oldest not sorted: %+v", h.Spans.OldestOpen)
		}
		prev = idx
	}
}

func TestZeroTelemetryDoesNotPanic(t *testing.T) {
	var tel otelx.Telemetry
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "op")
	span.End()
	if _, err := tel.MeterProvider().Meter("t").Int64Counter("c"); err != nil {
		t.Fatal(err)
	}
	if err := tel.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := tel.Health(); h.Status != otelx.StatusDisabled {
		t.Errorf("zero Telemetry status %q, want disabled", h.Status)
	}
	for range 2 {
		if err := tel.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestShutdownForgetsOpenSpans(t *testing.T) {
	tel, _ := setup(t)
	_, late := tel.TracerProvider().Tracer("t").Start(context.Background(), "late")
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	late.End() // the SDK no longer records it: it is not exported
	h := tel.Health()
	if h.Spans.Open != 1 || len(h.Spans.OldestOpen) != 0 || h.Status != otelx.StatusHealthy {
		t.Errorf("after shutdown with a span open: %+v (open spans are counted, not kept)", h.Spans)
	}
}

func TestSettingsShowWhatIsInEffect(t *testing.T) {
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "8")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "foo.service.name=x,service.version=9")
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false),
		otelx.WithEndpoint("http://127.0.0.1:9"),
		otelx.WithResourceAttributes(attribute.String("service.name", "from-attrs")),
		otelx.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	h := tel.Health()
	if s := setting(t, h, "traces.max_export_batch_size"); !strings.HasPrefix(s.Value, "8 (512") {
		t.Errorf("batch size %+v, want 8, capped at the queue size", s)
	}
	if s := setting(t, h, "service.name"); s.Value != "from-attrs" || s.Source != otelx.SourceOption {
		t.Errorf("service.name %+v, want from-attrs from an option", s)
	}
	if s := setting(t, h, "service.version"); s.Value != "9" || s.Source != otelx.SourceEnv {
		t.Errorf("service.version %+v, want 9 from the environment", s)
	}
	// The copy returned is the caller's own.
	h.Settings[0].Value = "changed"
	if tel.Health().Settings[0].Value == "changed" {
		t.Error("Health shares its settings slice with the Telemetry")
	}
}

// panickingExporter panics on every call that exports or stops.
type panickingExporter struct{ memMetrics }

func (*panickingExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	panic("span exporter bug")
}

func (*panickingExporter) Export(context.Context, *metricdata.ResourceMetrics) error {
	panic("metric exporter bug")
}

func (*panickingExporter) Shutdown(context.Context) error { panic("shutdown bug") }

// TestPanickingExporterIsAnError checks that a user's exporter or error
// handler that panics on otelx's goroutines does not end the program: the
// panic is a failed export, returned as a *panics.Error.
func TestPanickingExporterIsAnError(t *testing.T) {
	exp := &panickingExporter{}
	var handled []error
	var mu sync.Mutex
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false),
		otelx.WithSpanExporter(exp), otelx.WithMetricExporter(exp),
		otelx.WithErrorHandler(func(err error) {
			mu.Lock()
			handled = append(handled, err)
			mu.Unlock()
			panic("handler bug")
		}))
	if err != nil {
		t.Fatal(err)
	}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "s")
	span.End()
	err = tel.ForceFlush(context.Background())
	var perr *panics.Error
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "span exporter bug") || !strings.Contains(err.Error(), "metric exporter bug") {
		t.Fatalf("ForceFlush: %v, want both exporters' panics as *panics.Error", err)
	}
	h := tel.Health()
	if h.Traces.SpansFailed != 1 || h.Metrics.FailedExports == 0 || !strings.Contains(h.Traces.LastError, "span exporter bug") {
		t.Errorf("health after panics: traces %+v, metrics %+v", h.Traces, h.Metrics)
	}
	mu.Lock()
	n := len(handled)
	mu.Unlock()
	if n < 2 {
		t.Errorf("error handler saw %d errors, want the span and the metric export's", n)
	}
	if err := tel.Shutdown(context.Background()); !errors.As(err, &perr) || !strings.Contains(err.Error(), "shutdown bug") {
		t.Errorf("Shutdown: %v, want the exporter's panic as *panics.Error", err)
	}
}
