package otelx

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// Source says where the value of a [Setting] came from.
type Source string

const (
	// SourceDefault means neither code nor the environment set the value.
	SourceDefault Source = "default"
	// SourceEnv means an OTEL_* environment variable set the value.
	SourceEnv Source = "env"
	// SourceOption means an [Option] passed to [Setup] set the value.
	SourceOption Source = "option"
)

// Setting is one effective setting of a [Telemetry] and where its value came
// from. Precedence is: an [Option] passed to [Setup], then the OTEL_*
// environment variable, then the default. OTEL_SDK_DISABLED=true is the one
// exception: it always wins, so an operator can switch telemetry off.
type Setting struct {
	Name   string `json:"name"`   // e.g. "traces.endpoint"
	Value  string `json:"value"`  // the value in effect
	Source Source `json:"source"` // where it came from
	// IgnoredEnv is set when an option won over an environment variable
	// that was also set; it reads "OTEL_SERVICE_NAME=checkout".
	IgnoredEnv string `json:"ignored_env,omitempty"`
}

// Defaults, from the OpenTelemetry specification's environment variables.
const (
	defaultEndpoint       = "http://localhost:4318"
	defaultBatchTimeout   = 5 * time.Second
	defaultExportTimeout  = 30 * time.Second
	defaultMaxQueueSize   = 2048
	defaultMaxBatchSize   = 512
	defaultMetricInterval = 60 * time.Second
	defaultLeakThreshold  = time.Minute
)

// resolved is the configuration Setup builds from, after precedence.
type resolved struct {
	tracesURL       string // empty when traces go to a custom exporter or none
	metricsURL      string
	tracesExporter  string // "otlp", "none" or "custom"
	metricsExporter string
	sampler         sdktrace.Sampler
	batchTimeout    time.Duration
	exportTimeout   time.Duration
	metricTimeout   time.Duration
	maxQueueSize    int
	maxBatchSize    int
	metricInterval  time.Duration
	settings        []Setting
}

// envLookup reads an environment variable, trimmed; ok reports it was set
// and not blank.
func envLookup(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// sdkDisabled reports whether OTEL_SDK_DISABLED is "true" (any case). Other
// values, as the specification says, leave the SDK enabled.
func sdkDisabled() bool {
	v, _ := envLookup("OTEL_SDK_DISABLED")
	return strings.EqualFold(v, "true")
}

// resolve applies precedence (option, environment, default) to every
// setting and validates what it takes from the environment.
func resolve(c *config) (*resolved, error) {
	r := &resolved{}
	var err error

	// Exporters and endpoints.
	if r.tracesExporter, err = resolveExporter(r, "traces.exporter", "OTEL_TRACES_EXPORTER", c.spanExporter); err != nil {
		return nil, err
	}
	var metricCustom any = c.metricExporter
	if c.metricReader != nil {
		metricCustom = c.metricReader
	}
	if r.metricsExporter, err = resolveExporter(r, "metrics.exporter", "OTEL_METRICS_EXPORTER", metricCustom); err != nil {
		return nil, err
	}
	for _, pv := range []struct {
		exporter string
		vars     []string
	}{
		{r.tracesExporter, []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}},
		{r.metricsExporter, []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"}},
	} {
		if pv.exporter != "otlp" {
			continue
		}
		for _, name := range pv.vars {
			if v, ok := envLookup(name); ok && v != "http/protobuf" {
				return nil, &EnvError{Var: name, Value: v,
					Err: fmt.Errorf("%w: otelx exports over OTLP/HTTP with protobuf (http/protobuf) only", ErrUnsupported)}
			}
		}
	}
	if r.tracesExporter == "otlp" {
		if r.tracesURL, err = resolveURL(r, c.endpoint, "traces.endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "v1/traces"); err != nil {
			return nil, err
		}
	}
	if r.metricsExporter == "otlp" {
		if r.metricsURL, err = resolveURL(r, c.endpoint, "metrics.endpoint", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "v1/metrics"); err != nil {
			return nil, err
		}
	}

	// Sampler.
	if r.sampler, err = resolveSampler(r, c.sampler, c.spanBudget); err != nil {
		return nil, err
	}

	// Batching and export.
	if r.batchTimeout, err = resolveMillis(r, "traces.batch_timeout", "OTEL_BSP_SCHEDULE_DELAY", c.batchTimeout, defaultBatchTimeout); err != nil {
		return nil, err
	}
	if r.exportTimeout, err = resolveMillis(r, "traces.export_timeout", "OTEL_BSP_EXPORT_TIMEOUT", c.exportTimeout, defaultExportTimeout); err != nil {
		return nil, err
	}
	if r.maxQueueSize, err = resolveInt(r, "traces.max_queue_size", "OTEL_BSP_MAX_QUEUE_SIZE", c.maxQueueSize, defaultMaxQueueSize); err != nil {
		return nil, err
	}
	if r.maxBatchSize, err = resolveInt(r, "traces.max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 0, defaultMaxBatchSize); err != nil {
		return nil, err
	}
	if r.maxBatchSize > r.maxQueueSize {
		// A batch cannot be larger than the queue: report what is in effect.
		last := &r.settings[len(r.settings)-1]
		last.Value = fmt.Sprintf("%d (%s, capped at the queue size)", r.maxQueueSize, last.Value)
		r.maxBatchSize = r.maxQueueSize
	}
	if r.metricInterval, err = resolveMillis(r, "metrics.interval", "OTEL_METRIC_EXPORT_INTERVAL", c.metricInterval, defaultMetricInterval); err != nil {
		return nil, err
	}
	if r.metricTimeout, err = resolveMillis(r, "metrics.export_timeout", "OTEL_METRIC_EXPORT_TIMEOUT", c.exportTimeout, defaultExportTimeout); err != nil {
		return nil, err
	}
	return r, nil
}

// add records a setting, noting an environment variable an option beat.
func (r *resolved) add(name, value string, src Source, envVar string) {
	s := Setting{Name: name, Value: value, Source: src}
	if src == SourceOption && envVar != "" {
		if v, ok := envLookup(envVar); ok {
			if u, err := url.Parse(v); err == nil && u.User != nil {
				v = u.Redacted()
			}
			s.IgnoredEnv = envVar + "=" + v
		}
	}
	r.settings = append(r.settings, s)
}

// redact hides credentials in a URL for display.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// resolveExporter returns "custom", "otlp" or "none".
func resolveExporter[E any](r *resolved, name, envVar string, custom E) (string, error) {
	if any(custom) != nil {
		r.add(name, fmt.Sprintf("custom (%T)", custom), SourceOption, envVar)
		return "custom", nil
	}
	v, ok := envLookup(envVar)
	if !ok {
		r.add(name, "otlp", SourceDefault, "")
		return "otlp", nil
	}
	switch strings.ToLower(v) {
	case "otlp", "none":
		r.add(name, strings.ToLower(v), SourceEnv, "")
		return strings.ToLower(v), nil
	}
	return "", &EnvError{Var: envVar, Value: v, Err: fmt.Errorf("%w: otelx supports otlp and none", ErrUnsupported)}
}

// resolveURL returns the full URL for one signal. The per-signal variable is
// used as it is; the base one, the option and the default get the signal's
// path appended, as the specification says.
func resolveURL(r *resolved, option, name, signalVar, path string) (string, error) {
	const baseVar = "OTEL_EXPORTER_OTLP_ENDPOINT"
	var raw, src, envVar string
	full := false
	if option != "" {
		raw, src = option, string(SourceOption)
	} else if v, ok := envLookup(signalVar); ok {
		raw, src, envVar, full = v, string(SourceEnv), signalVar, true
	} else if v, ok := envLookup(baseVar); ok {
		raw, src, envVar = v, string(SourceEnv), baseVar
	} else {
		raw, src = defaultEndpoint, string(SourceDefault)
	}
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = fmt.Errorf("want an absolute http:// or https:// URL such as %s", defaultEndpoint)
	}
	if err != nil {
		if envVar != "" {
			return "", &EnvError{Var: envVar, Value: raw, Err: fmt.Errorf("%w: %v", ErrInvalidEndpoint, err)}
		}
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidEndpoint, raw, err)
	}
	if !full {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + path
	}
	s := u.String()
	shown := u.Redacted() // the URL may carry credentials: never show them
	if option != "" {
		// Report the per-signal variable if set, else the base one.
		envVar = signalVar
		if _, ok := envLookup(signalVar); !ok {
			envVar = baseVar
		}
	}
	r.add(name, shown, Source(src), envVar)
	return s, nil
}

// EnvSpanBudget names the environment variable that sets the adaptive
// sampler's budget in sampled spans per second. It is otlpgo's own: the
// SDK warns about any OTEL_TRACES_SAMPLER value it does not know.
const EnvSpanBudget = "OTLPGO_SPAN_BUDGET"

// resolveSampler applies OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// when no sampler was given, with the SDK's names. Without either, the
// sampler is adaptive, with the budget from WithSpanBudget, then
// OTLPGO_SPAN_BUDGET, then 100.
func resolveSampler(r *resolved, option sdktrace.Sampler, budget float64) (sdktrace.Sampler, error) {
	const envVar, argVar = "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"
	if option != nil {
		r.add("traces.sampler", option.Description(), SourceOption, envVar)
		return option, nil
	}
	name, ok := envLookup(envVar)
	if !ok {
		arg, argSet := envLookup(EnvSpanBudget)
		switch {
		case budget > 0:
			r.add("traces.span_budget", strconv.FormatFloat(budget, 'g', -1, 64), SourceOption, EnvSpanBudget)
		case argSet:
			f, err := strconv.ParseFloat(arg, 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				return nil, &EnvError{Var: EnvSpanBudget, Value: arg, Err: fmt.Errorf("%w: want sampled spans per second, above 0", ErrInvalidValue)}
			}
			budget = f
			r.add("traces.span_budget", arg, SourceEnv, "")
		default:
			budget = sampler.DefaultBudget
			r.add("traces.span_budget", strconv.FormatFloat(budget, 'g', -1, 64), SourceDefault, "")
		}
		s := sampler.NewAdaptive(sampler.WithBudget(budget))
		r.add("traces.sampler", s.Description(), SourceDefault, "")
		return s, nil
	}
	ratio := func() (float64, error) {
		arg, ok := envLookup(argVar)
		if !ok {
			return 1, nil
		}
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || f < 0 || f > 1 || f != f {
			return 0, &EnvError{Var: argVar, Value: arg, Err: fmt.Errorf("%w: want a probability from 0 to 1", ErrInvalidValue)}
		}
		return f, nil
	}
	var s sdktrace.Sampler
	switch strings.ToLower(name) {
	case "always_on":
		s = sdktrace.AlwaysSample()
	case "always_off":
		s = sdktrace.NeverSample()
	case "parentbased_always_on":
		s = sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "parentbased_always_off":
		s = sdktrace.ParentBased(sdktrace.NeverSample())
	case "traceidratio", "parentbased_traceidratio":
		f, err := ratio()
		if err != nil {
			return nil, err
		}
		s = sdktrace.TraceIDRatioBased(f)
		if strings.HasPrefix(strings.ToLower(name), "parentbased_") {
			s = sdktrace.ParentBased(s)
		}
	default:
		return nil, &EnvError{Var: envVar, Value: name, Err: fmt.Errorf(
			"%w: otelx supports always_on, always_off, traceidratio and their parentbased_ forms; unset it for the adaptive default", ErrUnsupported)}
	}
	r.add("traces.sampler", s.Description(), SourceEnv, "")
	return s, nil
}

// resolveMillis resolves a duration whose variable holds milliseconds.
func resolveMillis(r *resolved, name, envVar string, option, def time.Duration) (time.Duration, error) {
	if option > 0 {
		r.add(name, option.String(), SourceOption, envVar)
		return option, nil
	}
	v, ok := envLookup(envVar)
	if !ok {
		r.add(name, def.String(), SourceDefault, "")
		return def, nil
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return 0, &EnvError{Var: envVar, Value: v, Err: fmt.Errorf("%w: want whole milliseconds from 1 to 86400000", ErrInvalidValue)}
	}
	d := time.Duration(ms) * time.Millisecond
	r.add(name, d.String(), SourceEnv, "")
	return d, nil
}

// resolveInt resolves a positive count.
func resolveInt(r *resolved, name, envVar string, option, def int) (int, error) {
	if option > 0 {
		r.add(name, strconv.Itoa(option), SourceOption, envVar)
		return option, nil
	}
	v, ok := envLookup(envVar)
	if !ok {
		r.add(name, strconv.Itoa(def), SourceDefault, "")
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1<<24 {
		return 0, &EnvError{Var: envVar, Value: v, Err: fmt.Errorf("%w: want a whole number from 1 to %d", ErrInvalidValue, 1<<24)}
	}
	r.add(name, strconv.Itoa(n), SourceEnv, "")
	return n, nil
}
