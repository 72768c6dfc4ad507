package otelx_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/otlpgo/otlpgo/otelx"
)

// fuzzVars are the environment variables otelx reads, or checks for the
// exporters that read them.
var fuzzVars = []string{
	"OTEL_SDK_DISABLED",
	"OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_PROPAGATORS",
	"OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",
	"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_METRICS_HEADERS",
	"OTEL_EXPORTER_OTLP_TIMEOUT",
	"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
	"OTEL_EXPORTER_OTLP_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
	"OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	"OTEL_TRACES_EXPORTER",
	"OTEL_METRICS_EXPORTER",
	"OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG",
	otelx.EnvSpanBudget,
	"OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_EXPORT_TIMEOUT",
	"OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	"OTEL_METRIC_EXPORT_INTERVAL",
	"OTEL_METRIC_EXPORT_TIMEOUT",
}

// fuzzSecret marks the credentials FuzzEnv puts in endpoints and headers.
const fuzzSecret = "Zq9SECRETq9Z"

// Flags in FuzzEnv's which byte, above the variable index (0-31).
const (
	fuzzEndpointOption = 1 << 5 // the endpoint goes to WithEndpoint, not a variable
	fuzzPerSignal      = 1 << 6 // the endpoint goes to the traces variable
	fuzzInjectSecrets  = 1 << 7 // credentials are added to the endpoint and headers
)

// FuzzEnv feeds arbitrary values to the variables otelx reads, through the
// checks Setup runs before it builds anything (otelx.Prepare), and checks:
// no panic; an error is an *EnvError naming a variable that was set (or,
// for WithEndpoint, ErrInvalidEndpoint) and wraps one of the sentinels; an
// accepted configuration is within range and round-trips the value set;
// and credentials put in endpoints and headers appear in no error and no
// setting.
//
// which picks the variable that gets value (low 5 bits) and the flags
// above; endpoint and headers go to an endpoint (variable or option) and
// to OTEL_EXPORTER_OTLP_HEADERS.
func FuzzEnv(f *testing.F) {
	// Longer than otelx shows (256 bytes). Megabyte values are in
	// TestEnvHugeValues: as seeds they make the fuzzer spend its time
	// minimizing them.
	long := strings.Repeat("a%", 2048)
	idx := func(name string) uint8 { return uint8(slices.Index(fuzzVars, name)) }
	for _, s := range []struct {
		which                    uint8
		value, endpoint, headers string
	}{
		{idx("OTEL_BSP_SCHEDULE_DELAY"), "5000", "http://127.0.0.1:4318", "a=b"},
		{idx("OTEL_BSP_SCHEDULE_DELAY"), "-1", "", ""},
		{idx("OTEL_BSP_EXPORT_TIMEOUT"), "9223372036854775807", "", ""},
		{idx("OTEL_BSP_EXPORT_TIMEOUT"), "99999999999999999999999", "", ""},
		{idx("OTEL_BSP_MAX_QUEUE_SIZE"), "+16", "", ""},
		{idx("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), "0x10", "", ""},
		{idx("OTEL_METRIC_EXPORT_INTERVAL"), "-0", "", ""},
		{idx("OTEL_METRIC_EXPORT_TIMEOUT"), " 86400000 ", "", ""},
		{idx("OTEL_METRIC_EXPORT_INTERVAL"), " 5 ", "", ""},
		{idx(otelx.EnvSpanBudget), "junk", "", ""},
		{idx("OTEL_TRACES_SAMPLER_ARG"), "NaN", "", ""},
		{idx("OTEL_TRACES_SAMPLER_ARG"), "-Inf", "", ""},
		{idx("OTEL_TRACES_SAMPLER_ARG"), "0x1p-3", "", ""},
		{idx("OTEL_TRACES_SAMPLER_ARG"), "1e-400", "", ""},
		{idx(otelx.EnvSpanBudget), "+Inf", "", ""},
		{idx(otelx.EnvSpanBudget), "4.9e-324", "", ""},
		{idx(otelx.EnvSpanBudget), "1e308", "", ""},
		{idx("OTEL_TRACES_SAMPLER"), "ParentBased_TraceIdRatio", "", ""},
		{idx("OTEL_SDK_DISABLED"), " TRUE ", "", ""},
		{idx("OTEL_SDK_DISABLED"), "1", "", ""},
		{idx("OTEL_PROPAGATORS"), "tracecontext,baggage,none", "", ""},
		{idx("OTEL_PROPAGATORS"), "b3multi", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), "a=%zz,b", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), "service.name=é%20x,=", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), "a=b%zz", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), "=x", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), "a=%E2%82", "", ""},
		{idx("OTEL_RESOURCE_ATTRIBUTES"), " k = v%20w , x.y=%C3%A9", "", ""},
		{idx("OTEL_SERVICE_NAME"), "\u202e\x7f\t\r\n", "", ""},
		{idx("OTEL_EXPORTER_OTLP_TIMEOUT"), "-5", "", ""},
		{idx("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"), "１０", "", ""},
		{idx("OTEL_EXPORTER_OTLP_COMPRESSION"), "GZIP", "", ""},
		{idx("OTEL_EXPORTER_OTLP_PROTOCOL"), "grpc", "", ""},
		{idx("OTEL_TRACES_EXPORTER"), "otlp,console", "", ""},
		{idx("OTEL_EXPORTER_OTLP_HEADERS"), "Authorization=Bearer%20x, k = v ,", "", ""},
		{idx("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), "bad key=v", "", ""},
		{idx("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://[fe80::1%25eth0]:4318/", "", ""},
		{idx("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://[::1", "", ""},
		{idx("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), "https://例え.jp:4318/v1/metrics", "", ""},
		{idx("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "http://h%41st:4318/%2F%2e%2e", "", ""},
		{idx("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://u:p@h:99999?x=y#z", "", ""},
		{idx("OTEL_SERVICE_NAME"), long, "http://" + long, long + "=" + long},
		{idx("OTEL_TRACES_SAMPLER"), long, "http://h:1/" + long, "k=" + long},
		{idx("OTEL_EXPORTER_OTLP_ENDPOINT") | fuzzInjectSecrets, "http://" + long + "@h", long, long},
		{fuzzInjectSecrets, "", "http://127.0.0.1:4318/base", "a=b"},
		{fuzzInjectSecrets | fuzzPerSignal, "", "https://[::1]:4318", ""},
		{fuzzInjectSecrets | fuzzEndpointOption, "", "localhost:4318", "Authorization=Basic%20x"},
		{fuzzInjectSecrets, "", "http://u:pa?ss@h:1", "x"},
		{fuzzInjectSecrets, "", "http://h:12/x@y", "%zz=1"},
		{fuzzInjectSecrets | fuzzEndpointOption, "", "http://h/%", ""},
		{fuzzInjectSecrets, "", "\x01http://h", "k=\x7f"},
	} {
		f.Add(s.which, s.value, s.endpoint, s.headers)
	}

	f.Fuzz(fuzzEnvOnce)
}

// TestEnvHugeValues runs FuzzEnv's checks with a megabyte in each variable.
func TestEnvHugeValues(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	for i := range fuzzVars {
		t.Run(fuzzVars[i], func(t *testing.T) {
			fuzzEnvOnce(t, uint8(i)|fuzzInjectSecrets, huge, "http://"+huge, huge+"="+huge)
		})
	}
}

// fuzzEnvOnce is FuzzEnv's body.
func fuzzEnvOnce(t *testing.T, which uint8, value, endpoint, headers string) {
	// An environment value cannot hold a NUL byte.
	value = strings.ReplaceAll(value, "\x00", "")
	endpoint = strings.ReplaceAll(endpoint, "\x00", "")
	headers = strings.ReplaceAll(headers, "\x00", "")
	for _, v := range fuzzVars {
		t.Setenv(v, "")
	}
	inject := which&fuzzInjectSecrets != 0 && !strings.Contains(value+endpoint+headers, "SECRET")
	if inject {
		endpoint = injectSecrets(endpoint)
		headers += ",x-key=" + fuzzSecret
	}
	set := map[string]bool{}
	setenv := func(k, v string) {
		t.Setenv(k, v)
		set[k] = true
	}
	var opts []otelx.Option
	switch {
	case endpoint == "":
	case which&fuzzEndpointOption != 0:
		opts = append(opts, otelx.WithEndpoint(endpoint))
		if inject {
			// Overridden by the option: shown as ignored, redacted.
			setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint)
		}
	case which&fuzzPerSignal != 0:
		setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
	default:
		setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	}
	if headers != "" {
		setenv("OTEL_EXPORTER_OTLP_HEADERS", headers)
	}
	name := fuzzVars[int(which&0x1f)%len(fuzzVars)]
	if name == "OTEL_TRACES_SAMPLER_ARG" {
		setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	}
	setenv(name, value)

	p, err := otelx.Prepare(context.Background(), opts...)
	if err != nil {
		checkFuzzError(t, err, set, inject)
		return
	}
	if (name == "OTEL_METRIC_EXPORT_INTERVAL" || name == "OTEL_METRIC_EXPORT_TIMEOUT") && value != strings.TrimSpace(value) {
		// The SDK's metric reader reads it untrimmed: otelx must refuse
		// what the SDK would ignore.
		t.Fatalf("%s=%q accepted, with spaces the SDK does not trim", name, value)
	}
	checkPrepared(t, p, name, strings.TrimSpace(value))
	if inject {
		b, _ := json.Marshal(p.Settings)
		if strings.Contains(string(b), fuzzSecret) {
			t.Fatalf("settings show the secret: %s", b)
		}
	}
}

// injectSecrets puts a user, a password and a query value holding
// fuzzSecret into an endpoint, however malformed it is.
func injectSecrets(endpoint string) string {
	userinfo := "u" + fuzzSecret + ":p" + fuzzSecret + "@"
	if i := strings.Index(endpoint, "://"); i >= 0 {
		endpoint = endpoint[:i+3] + userinfo + endpoint[i+3:]
	} else {
		endpoint = userinfo + endpoint
	}
	return endpoint + "?k=" + fuzzSecret
}

func checkFuzzError(t *testing.T, err error, set map[string]bool, inject bool) {
	t.Helper()
	msg := err.Error()
	if !errors.Is(err, otelx.ErrInvalidEndpoint) && !errors.Is(err, otelx.ErrUnsupported) && !errors.Is(err, otelx.ErrInvalidValue) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	var envErr *otelx.EnvError
	if errors.As(err, &envErr) {
		if !set[envErr.Var] || !strings.Contains(msg, envErr.Var) {
			t.Fatalf("error names %s, which was not set (set: %v): %v", envErr.Var, set, err)
		}
	} else if !errors.Is(err, otelx.ErrInvalidEndpoint) || !strings.Contains(msg, "WithEndpoint") {
		t.Fatalf("error is not an *EnvError, nor about WithEndpoint: %v", err)
	}
	if len(msg) > 4096 {
		t.Fatalf("error message is %d bytes long", len(msg))
	}
	if inject && strings.Contains(msg, fuzzSecret) {
		t.Fatalf("error shows the secret: %v", err)
	}
}

// checkPrepared checks that an accepted configuration is within range, and
// that the value set for name is the one in effect.
func checkPrepared(t *testing.T, p *otelx.Prepared, name, value string) {
	t.Helper()
	if p.Disabled {
		if !strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
			t.Fatal("disabled without OTEL_SDK_DISABLED=true")
		}
		return
	}
	for _, raw := range []string{p.TracesURL, p.MetricsURL} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Path, "@") {
			t.Fatalf("endpoint in effect %q: %v", raw, err)
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				t.Fatalf("endpoint in effect %q has port %q", raw, port)
			}
		}
	}
	for _, d := range []time.Duration{p.BatchTimeout, p.ExportTimeout, p.MetricInterval, p.MetricExport} {
		if d <= 0 || d > 24*time.Hour {
			t.Fatalf("duration %v out of range: %+v", d, p)
		}
	}
	if p.MaxQueueSize < 1 || p.MaxQueueSize > 1<<24 || p.MaxBatchSize < 1 || p.MaxBatchSize > p.MaxQueueSize {
		t.Fatalf("sizes out of range: queue %d, batch %d", p.MaxQueueSize, p.MaxBatchSize)
	}
	if value == "" {
		return
	}
	millis := func(d time.Duration) {
		if ms, err := strconv.ParseInt(value, 10, 64); err != nil || time.Duration(ms)*time.Millisecond != d {
			t.Fatalf("%s=%q accepted, but %v is in effect", name, value, d)
		}
	}
	switch name {
	case "OTEL_BSP_SCHEDULE_DELAY":
		millis(p.BatchTimeout)
	case "OTEL_BSP_EXPORT_TIMEOUT":
		millis(p.ExportTimeout)
	case "OTEL_METRIC_EXPORT_INTERVAL":
		millis(p.MetricInterval)
	case "OTEL_METRIC_EXPORT_TIMEOUT":
		millis(p.MetricExport)
	case "OTEL_BSP_MAX_QUEUE_SIZE":
		if n, err := strconv.Atoi(value); err != nil || n != p.MaxQueueSize {
			t.Fatalf("%s=%q accepted, but %d is in effect", name, value, p.MaxQueueSize)
		}
	case "OTEL_TRACES_SAMPLER_ARG":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f != f || f < 0 || f > 1 {
			t.Fatalf("%s=%q accepted", name, value)
		}
		if want := "TraceIDRatioBased{" + strconv.FormatFloat(f, 'g', -1, 64) + "}"; f > 0 && f < 1 && !strings.Contains(p.Sampler, want) {
			t.Fatalf("%s=%q accepted, but the sampler is %s", name, value, p.Sampler)
		}
	case "OTEL_RESOURCE_ATTRIBUTES":
		// Accepted: every entry is key=value with a key, and a value that
		// decodes to UTF-8, as the SDK reads it.
		for entry := range strings.SplitSeq(value, ",") {
			k, v, ok := strings.Cut(entry, "=")
			d, err := url.PathUnescape(strings.TrimSpace(v))
			if !ok || strings.TrimSpace(k) == "" || !utf8.ValidString(k) || err != nil || !utf8.ValidString(d) {
				t.Fatalf("%s=%q accepted, but entry %q is not key=value with a UTF-8 value", name, value, entry)
			}
		}
	case otelx.EnvSpanBudget:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			t.Fatalf("%s=%q accepted", name, value)
		}
	}
}
