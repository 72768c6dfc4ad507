package otelx_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/otelx"
)

// TestEnvNeverSilentlyIgnored sets values that Setup used to ignore or pass
// on to be ignored (malformed, out of range, or unused by the configuration
// in effect): each must be an *EnvError naming the variable.
func TestEnvNeverSilentlyIgnored(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantVar string
		want    error
	}{
		{map[string]string{"OTEL_SDK_DISABLED": "1"}, "OTEL_SDK_DISABLED", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_SDK_DISABLED": "yes"}, "OTEL_SDK_DISABLED", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_PROPAGATORS": "b3"}, "OTEL_PROPAGATORS", otelx.ErrUnsupported},
		{map[string]string{"OTEL_PROPAGATORS": "tracecontext,,baggage"}, "OTEL_PROPAGATORS", otelx.ErrUnsupported},
		{map[string]string{"OTEL_PROPAGATORS": "none,tracecontext"}, "OTEL_PROPAGATORS", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.1"}, "OTEL_TRACES_SAMPLER_ARG", otelx.ErrUnsupported},
		{map[string]string{"OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, "OTEL_TRACES_SAMPLER_ARG", otelx.ErrUnsupported},
		{map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_off", "OTLPGO_SPAN_BUDGET": "50"}, "OTLPGO_SPAN_BUDGET", otelx.ErrUnsupported},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "NaN"}, "OTEL_TRACES_SAMPLER_ARG", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "-Inf"}, "OTEL_TRACES_SAMPLER_ARG", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "-0.1"}, "OTEL_TRACES_SAMPLER_ARG", otelx.ErrInvalidValue},
		{map[string]string{"OTLPGO_SPAN_BUDGET": "NaN"}, "OTLPGO_SPAN_BUDGET", otelx.ErrInvalidValue},
		{map[string]string{"OTLPGO_SPAN_BUDGET": "+Inf"}, "OTLPGO_SPAN_BUDGET", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"}, "OTEL_EXPORTER_OTLP_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "0"}, "OTEL_EXPORTER_OTLP_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "9223372036854775807"}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "1e3"}, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP"}, "OTEL_EXPORTER_OTLP_COMPRESSION", otelx.ErrUnsupported},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", otelx.ErrUnsupported},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "br"}, "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", otelx.ErrUnsupported},
		{map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=b,"}, "OTEL_EXPORTER_OTLP_HEADERS", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:0"}, "OTEL_EXPORTER_OTLP_ENDPOINT", otelx.ErrInvalidEndpoint},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:65536"}, "OTEL_EXPORTER_OTLP_ENDPOINT", otelx.ErrInvalidEndpoint},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:/v1/traces"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otelx.ErrInvalidEndpoint},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://[::1"}, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", otelx.ErrInvalidEndpoint},
		{map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "9223372036854775807"}, "OTEL_BSP_SCHEDULE_DELAY", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "99999999999999999999"}, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": " 5 "}, "OTEL_METRIC_EXPORT_INTERVAL", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_METRIC_EXPORT_TIMEOUT": "1000\t"}, "OTEL_METRIC_EXPORT_TIMEOUT", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_METRIC_EXPORT_INTERVAL": " "}, "OTEL_METRIC_EXPORT_INTERVAL", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=b%zz"}, "OTEL_RESOURCE_ATTRIBUTES", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "=x"}, "OTEL_RESOURCE_ATTRIBUTES", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1, =x"}, "OTEL_RESOURCE_ATTRIBUTES", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=%E2%82"}, "OTEL_RESOURCE_ATTRIBUTES", otelx.ErrInvalidValue},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a\xff=1"}, "OTEL_RESOURCE_ATTRIBUTES", otelx.ErrInvalidValue},
	}
	for _, tt := range tests {
		var name []string
		for k, v := range tt.env {
			name = append(name, k+"="+v)
		}
		t.Run(strings.Join(name, ","), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false))
			if err == nil {
				tel.Shutdown(context.Background())
				t.Fatal("Setup accepted it")
			}
			var envErr *otelx.EnvError
			if !errors.Is(err, tt.want) || !errors.As(err, &envErr) || envErr.Var != tt.wantVar {
				t.Fatalf("error %v, want an *EnvError for %s wrapping %v", err, tt.wantVar, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Errorf("error %q does not name %s", err, tt.wantVar)
			}
		})
	}
}

// TestEnvValuesAccepted checks well-formed values of the variables Setup now
// checks itself, and what the settings show of them.
func TestEnvValuesAccepted(t *testing.T) {
	for k, v := range map[string]string{
		"OTEL_SDK_DISABLED":                      "False",
		"OTEL_PROPAGATORS":                       " Baggage , tracecontext,baggage",
		"OTEL_EXPORTER_OTLP_TIMEOUT":             "500",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":      "86400000",
		"OTEL_EXPORTER_OTLP_COMPRESSION":         "gzip",
		"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "none",
		"OTEL_EXPORTER_OTLP_HEADERS":             "Authorization=Bearer%20token, x-tenant = a",
		"OTEL_EXPORTER_OTLP_ENDPOINT":            "http://[::1]:4318/base/",
		"OTEL_TRACES_SAMPLER":                    "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":                "0x1p-2",
	} {
		t.Setenv(k, v)
	}
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithMetricReader(sdkmetric.NewManualReader()))
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	h := tel.Health()
	for name, want := range map[string]string{
		"propagators":     "baggage,tracecontext",
		"traces.endpoint": "http://[::1]:4318/base/v1/traces",
		"traces.sampler":  "ParentBased{root:TraceIDRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}",
	} {
		if s := setting(t, h, name); s.Value != want {
			t.Errorf("%s = %q, want %q", name, s.Value, want)
		}
	}
}

// TestPropagatorsFromEnv checks that OTEL_PROPAGATORS decides what Setup
// installs, even when OTEL_SDK_DISABLED=true.
func TestPropagatorsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		value, disabled string
		fields          []string
	}{
		{"", "", []string{"traceparent", "tracestate", "baggage"}},
		{"baggage", "", []string{"baggage"}},
		{"none", "", nil},
		{"tracecontext", "true", []string{"traceparent", "tracestate"}},
	} {
		t.Run(tt.value+"/disabled="+tt.disabled, func(t *testing.T) {
			prev := otel.GetTextMapPropagator()
			tp, mp := otel.GetTracerProvider(), otel.GetMeterProvider()
			t.Cleanup(func() {
				otel.SetTextMapPropagator(prev)
				otel.SetTracerProvider(tp)
				otel.SetMeterProvider(mp)
			})
			t.Setenv("OTEL_PROPAGATORS", tt.value)
			t.Setenv("OTEL_SDK_DISABLED", tt.disabled)
			setup(t, otelx.WithGlobal(true))
			got := otel.GetTextMapPropagator().Fields()
			slices.Sort(got)
			slices.Sort(tt.fields)
			if !slices.Equal(got, tt.fields) {
				t.Errorf("propagator fields %v, want %v", got, tt.fields)
			}
		})
	}
}

// TestEnvCheckedBehindOptions checks variables that an option overrides
// but that must still be valid: OTLPGO_SPAN_BUDGET behind WithSampler or
// WithSpanBudget (was accepted with no error and not listed as ignored),
// and the metric reader's variables, which the SDK reads whatever option
// otelx passes. A valid one is listed as ignored.
func TestEnvCheckedBehindOptions(t *testing.T) {
	for _, tt := range []struct {
		env, value string
		opt        otelx.Option
	}{
		{otelx.EnvSpanBudget, "junk", otelx.WithSampler(sdktrace.AlwaysSample())},
		{otelx.EnvSpanBudget, "-1", otelx.WithSpanBudget(5)},
		{"OTEL_METRIC_EXPORT_INTERVAL", "junk", otelx.WithMetricInterval(time.Second)},
		{"OTEL_METRIC_EXPORT_TIMEOUT", "0", otelx.WithExportTimeout(time.Second)},
		{"OTEL_METRIC_EXPORT_INTERVAL", " 5 ", otelx.WithMetricInterval(time.Second)},
	} {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := otelx.Prepare(context.Background(), tt.opt)
			var envErr *otelx.EnvError
			if !errors.Is(err, otelx.ErrInvalidValue) || !errors.As(err, &envErr) || envErr.Var != tt.env {
				t.Fatalf("error %v, want an *EnvError for %s wrapping ErrInvalidValue", err, tt.env)
			}
		})
	}
	t.Setenv(otelx.EnvSpanBudget, "50")
	p, err := otelx.Prepare(context.Background(), otelx.WithSampler(sdktrace.AlwaysSample()))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Settings, func(s otelx.Setting) bool { return s.Name == "traces.span_budget" })
	if i < 0 || p.Settings[i].IgnoredEnv != otelx.EnvSpanBudget+"=50" {
		t.Errorf("settings %+v, want traces.span_budget ignoring %s=50", p.Settings, otelx.EnvSpanBudget)
	}
}
