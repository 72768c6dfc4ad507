package otelx

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/propagation"
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

	// maxMillis bounds a duration in milliseconds from the environment: a
	// day, far below where time.Duration overflows.
	maxMillis = int(24 * time.Hour / time.Millisecond)
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

// sdkDisabled reports whether OTEL_SDK_DISABLED is "true" (any case). The
// specification reads any other value as false; otelx refuses values other
// than true and false, so that OTEL_SDK_DISABLED=1 does not leave telemetry
// on in silence.
func sdkDisabled() (bool, error) {
	const envVar = "OTEL_SDK_DISABLED"
	v, ok := envLookup(envVar)
	switch {
	case !ok || strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	}
	return false, envError(envVar, v, fmt.Errorf("%w: want true or false", ErrInvalidValue))
}

// envError builds the error for a variable whose value Setup refuses; the
// value is shown through redact.
func envError(name, value string, err error) *EnvError {
	return &EnvError{Var: name, Value: redact(name, value), Err: err}
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
				return nil, envError(name, v, fmt.Errorf("%w: otelx exports over OTLP/HTTP with protobuf (http/protobuf) only", ErrUnsupported))
			}
		}
	}
	if r.tracesExporter == "otlp" {
		if err = checkExporterEnv("TRACES"); err != nil {
			return nil, err
		}
		if r.tracesURL, err = resolveURL(r, c.endpoint, "traces.endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "v1/traces"); err != nil {
			return nil, err
		}
	}
	if r.metricsExporter == "otlp" {
		if err = checkExporterEnv("METRICS"); err != nil {
			return nil, err
		}
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
			s.IgnoredEnv = envVar + "=" + redact(envVar, v)
		}
	}
	r.settings = append(r.settings, s)
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
	return "", envError(envVar, v, fmt.Errorf("%w: otelx supports otlp and none", ErrUnsupported))
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
	u, reason := checkEndpoint(raw)
	if reason != "" {
		if envVar != "" {
			return "", envError(envVar, raw, fmt.Errorf("%w: %s", ErrInvalidEndpoint, reason))
		}
		return "", fmt.Errorf("%w: WithEndpoint(%q): %s", ErrInvalidEndpoint, redact(name, raw), reason)
	}
	// The OTLP exporter reads both variables itself, whatever otelx uses,
	// and logs one that does not parse with its raw value: refuse it here,
	// where the value is shown redacted.
	for _, v := range []string{baseVar, signalVar} {
		if ev, ok := envLookup(v); ok && v != envVar {
			if _, err := url.Parse(ev); err != nil {
				return "", envError(v, ev, fmt.Errorf("%w: %s (the OTLP exporter reads it even when it is not used)",
					ErrInvalidEndpoint, describeURLError(err)))
			}
		}
	}
	if !full {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + path
		u.RawPath = ""
	}
	s := u.String()
	if option != "" {
		// Report the per-signal variable if set, else the base one.
		envVar = signalVar
		if _, ok := envLookup(signalVar); !ok {
			envVar = baseVar
		}
	}
	r.add(name, redact(name, s), Source(src), envVar)
	return s, nil
}

// checkEndpoint parses raw as an OTLP/HTTP endpoint. It returns the reason
// it cannot be used, which never repeats any part of raw: net/url's errors
// quote the URL, credentials included.
func checkEndpoint(raw string) (*url.URL, string) {
	const want = "want an absolute http:// or https:// URL such as " + defaultEndpoint
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, describeURLError(err) + ": " + want
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Opaque != "":
		return nil, want
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "", strings.Contains(raw, "#"):
		// The exporters build each request from the scheme, host and path
		// alone, so these would be dropped in silence.
		return nil, "the OTLP/HTTP exporter sends neither a user:password nor a ?query or #fragment of the URL: " +
			"send credentials as headers in OTEL_EXPORTER_OTLP_HEADERS, and use the URL's scheme, host, port and path only"
	}
	if strings.Contains(unescapeAll(raw), "@") {
		// http://user:12/pass@host parses as port 12 and path /pass@host,
		// and an encoded '@' (%40, %2540) may hide the same mistake.
		return nil, "the URL has an '@' (perhaps percent-encoded): if it is a user:password, send credentials as headers in OTEL_EXPORTER_OTLP_HEADERS"
	}
	if _, err := url.Parse(u.String()); err != nil {
		// net/url accepts some bytes it cannot write back (a raw non-ASCII
		// byte in an IPv6 zone becomes an escape it then refuses): the
		// endpoint reported as in effect must be the one in use.
		return nil, "the URL has characters that do not survive encoding (non-ASCII bytes in the host?): " + want
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, "the port is not from 1 to 65535"
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, "the port is empty"
	}
	return u, ""
}

// describeURLError says what is wrong with a URL that net/url refused,
// without repeating any of it.
func describeURLError(err error) string {
	var esc url.EscapeError
	var host url.InvalidHostError
	switch {
	case errors.As(err, &esc):
		return "a % is not followed by two hexadecimal digits"
	case errors.As(err, &host):
		return "the host name has a character that is not allowed"
	}
	return "not a URL"
}

// checkExporterEnv checks the variables that the OTLP/HTTP exporter of one
// signal reads itself: it would log a malformed header list with its values,
// and ignore in silence a malformed timeout or compression.
func checkExporterEnv(signal string) error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_" + signal + "_HEADERS"} {
		v, ok := envLookup(name)
		if !ok {
			continue
		}
		for i, entry := range strings.Split(v, ",") {
			k, val, found := strings.Cut(entry, "=")
			var reason string
			switch {
			case !found:
				reason = "is not key=value"
			case !validHeaderKey(strings.TrimSpace(k)):
				reason = "has a key that is not a valid HTTP header name"
			default:
				if _, err := url.PathUnescape(val); err != nil {
					reason = "has a value with a % not followed by two hexadecimal digits"
				}
			}
			if reason != "" {
				return envError(name, v, fmt.Errorf("%w: entry %d %s: want key1=value1,key2=value2 with URL-encoded values",
					ErrInvalidValue, i+1, reason))
			}
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_" + signal + "_TIMEOUT"} {
		if v, ok := envLookup(name); ok {
			// The exporter reads it with strconv.Atoi, as milliseconds.
			if ms, err := strconv.Atoi(v); err != nil || ms <= 0 || ms > maxMillis {
				return envError(name, v, fmt.Errorf("%w: want whole milliseconds from 1 to %d", ErrInvalidValue, maxMillis))
			}
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_" + signal + "_COMPRESSION"} {
		// The exporter compresses on exactly "gzip" and on nothing else.
		if v, ok := envLookup(name); ok && v != "gzip" && v != "none" {
			return envError(name, v, fmt.Errorf("%w: want gzip or none", ErrUnsupported))
		}
	}
	return nil
}

// resolvePropagators reads OTEL_PROPAGATORS, a comma-separated list of
// tracecontext, baggage, or none alone; unset, it is tracecontext,baggage.
func resolvePropagators() (propagation.TextMapPropagator, Setting, error) {
	const envVar = "OTEL_PROPAGATORS"
	v, ok := envLookup(envVar)
	if !ok {
		return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
			Setting{Name: "propagators", Value: "tracecontext,baggage", Source: SourceDefault}, nil
	}
	var props []propagation.TextMapPropagator
	var names []string
	for entry := range strings.SplitSeq(v, ",") {
		name := strings.ToLower(strings.TrimSpace(entry))
		if slices.Contains(names, name) {
			continue
		}
		switch name {
		case "tracecontext":
			props = append(props, propagation.TraceContext{})
		case "baggage":
			props = append(props, propagation.Baggage{})
		case "none":
		default:
			return nil, Setting{}, envError(envVar, v, fmt.Errorf(
				"%w: otelx supports tracecontext, baggage and none; install others yourself with otel.SetTextMapPropagator after Setup", ErrUnsupported))
		}
		names = append(names, name)
	}
	if slices.Contains(names, "none") && len(names) > 1 {
		return nil, Setting{}, envError(envVar, v, fmt.Errorf("%w: none cannot be combined with a propagator", ErrInvalidValue))
	}
	return propagation.NewCompositeTextMapPropagator(props...),
		Setting{Name: "propagators", Value: strings.Join(names, ","), Source: SourceEnv}, nil
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
		// The budget configures the adaptive sampler, which the option
		// replaced: check it anyway and list it as ignored, as
		// OTEL_TRACES_SAMPLER is, so that a typo does not wait for the day
		// the option goes.
		if arg, set := envLookup(EnvSpanBudget); set {
			if _, err := parseBudget(arg); err != nil {
				return nil, err
			}
			r.add("traces.span_budget", "none (WithSampler chose the sampler)", SourceOption, EnvSpanBudget)
		}
		return option, nil
	}
	name, ok := envLookup(envVar)
	if arg, set := envLookup(argVar); set && !ok {
		return nil, envError(argVar, arg, fmt.Errorf("%w: it is set but OTEL_TRACES_SAMPLER is not, so the adaptive sampler is used and takes no argument: "+
			"set OTEL_TRACES_SAMPLER=parentbased_traceidratio for a fixed ratio, or %s for the adaptive sampler's budget", ErrUnsupported, EnvSpanBudget))
	}
	if arg, set := envLookup(EnvSpanBudget); set && ok {
		return nil, envError(EnvSpanBudget, arg, fmt.Errorf("%w: it is set but OTEL_TRACES_SAMPLER=%s chooses another sampler than the adaptive one it configures",
			ErrUnsupported, redact(envVar, name)))
	}
	if !ok {
		arg, argSet := envLookup(EnvSpanBudget)
		switch {
		case budget > 0:
			if argSet {
				if _, err := parseBudget(arg); err != nil {
					return nil, err
				}
			}
			r.add("traces.span_budget", strconv.FormatFloat(budget, 'g', -1, 64), SourceOption, EnvSpanBudget)
		case argSet:
			f, err := parseBudget(arg)
			if err != nil {
				return nil, err
			}
			budget = f
			r.add("traces.span_budget", strconv.FormatFloat(budget, 'g', -1, 64), SourceEnv, "")
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
			return 0, envError(argVar, arg, fmt.Errorf("%w: want a probability from 0 to 1", ErrInvalidValue))
		}
		return f, nil
	}
	var s sdktrace.Sampler
	lower := strings.ToLower(name)
	switch lower {
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
		return nil, envError(envVar, name, fmt.Errorf(
			"%w: otelx supports always_on, always_off, traceidratio and their parentbased_ forms; unset it for the adaptive default", ErrUnsupported))
	}
	if arg, set := envLookup(argVar); set && lower != "traceidratio" && lower != "parentbased_traceidratio" {
		return nil, envError(argVar, arg, fmt.Errorf("%w: OTEL_TRACES_SAMPLER=%s takes no argument", ErrUnsupported, lower))
	}
	r.add("traces.sampler", s.Description(), SourceEnv, "")
	return s, nil
}

// parseBudget parses OTLPGO_SPAN_BUDGET.
func parseBudget(arg string) (float64, error) {
	f, err := strconv.ParseFloat(arg, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, envError(EnvSpanBudget, arg, fmt.Errorf("%w: want sampled spans per second, above 0", ErrInvalidValue))
	}
	return f, nil
}

// sdkReadsRaw lists the variables that otelx resolves and the SDK also
// reads itself, untrimmed, whatever option otelx passes: the metric
// reader's. otelx trims what it reads; for these it refuses spaces around
// the value, and checks the value even when an option wins, so that otelx
// and the SDK never disagree and the SDK logs nothing.
var sdkReadsRaw = map[string]bool{
	"OTEL_METRIC_EXPORT_INTERVAL": true,
	"OTEL_METRIC_EXPORT_TIMEOUT":  true,
}

// resolveMillis resolves a duration whose variable holds milliseconds.
func resolveMillis(r *resolved, name, envVar string, option, def time.Duration) (time.Duration, error) {
	if raw, _ := os.LookupEnv(envVar); sdkReadsRaw[envVar] && raw != "" {
		if raw != strings.TrimSpace(raw) {
			return 0, envError(envVar, raw, fmt.Errorf("%w: spaces around the value: the SDK's metric reader reads it as it is, and would ignore it", ErrInvalidValue))
		}
		if ms, err := strconv.ParseInt(raw, 10, 64); option > 0 && (err != nil || ms <= 0 || ms > int64(maxMillis)) {
			return 0, envError(envVar, raw, fmt.Errorf("%w: want whole milliseconds from 1 to %d (checked although an option wins: the SDK's metric reader reads it too)",
				ErrInvalidValue, maxMillis))
		}
	}
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
	if err != nil || ms <= 0 || ms > int64(maxMillis) {
		return 0, envError(envVar, v, fmt.Errorf("%w: want whole milliseconds from 1 to %d", ErrInvalidValue, maxMillis))
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
		return 0, envError(envVar, v, fmt.Errorf("%w: want a whole number from 1 to %d", ErrInvalidValue, 1<<24))
	}
	r.add(name, strconv.Itoa(n), SourceEnv, "")
	return n, nil
}

// checkResourceAttributes parses OTEL_RESOURCE_ATTRIBUTES as the SDK's
// resource.WithFromEnv does (comma-separated key=value, keys and values
// trimmed, values percent-decoded), but refuses what the SDK lets through
// in silence or with a log line only: an entry without '=', an empty key,
// a value with a % not followed by two hexadecimal digits (the SDK keeps it
// undecoded), and a key or decoded value that is not valid UTF-8. An
// accepted value means the same to otelx and to the SDK.
func checkResourceAttributes() error {
	const envVar = "OTEL_RESOURCE_ATTRIBUTES"
	v, ok := envLookup(envVar)
	if !ok {
		return nil
	}
	for i, entry := range strings.Split(v, ",") {
		k, val, found := strings.Cut(entry, "=")
		var reason string
		switch k = strings.TrimSpace(k); {
		case !found:
			reason = "is not key=value"
		case k == "":
			reason = "has an empty key"
		case !utf8.ValidString(k):
			reason = "has a key that is not valid UTF-8"
		default:
			d, err := url.PathUnescape(strings.TrimSpace(val))
			switch {
			case err != nil:
				reason = "has a value with a % not followed by two hexadecimal digits"
			case !utf8.ValidString(d):
				reason = "has a value that is not valid UTF-8 once percent-decoded"
			}
		}
		if reason != "" {
			return envError(envVar, v, fmt.Errorf("%w: entry %d %s: want key1=value1,key2=value2 with URL-encoded UTF-8 values",
				ErrInvalidValue, i+1, reason))
		}
	}
	return nil
}
