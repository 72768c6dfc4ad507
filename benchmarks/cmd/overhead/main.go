// Command overhead measures what tracing costs a service, per framework
// and sampler, in one reproducible run on this machine:
//
//	cd benchmarks && go run ./cmd/overhead [-rounds 3] [-duration 2s] [-concurrency 16] [-out .]
//
// It starts each framework's server on 127.0.0.1 (net/http with otelhttp,
// Gin with otelgin, gRPC with otelgrpc), drives it with a closed-loop load
// generator in the same process, and measures requests a second, latency
// percentiles (an HDR-style histogram), process CPU per 1,000 requests
// (getrusage), peak RSS, and spans started, exported and dropped, for
// five variants: no tracing; the SDK's AlwaysSample, TraceIDRatioBased(0.1)
// and ParentBased(AlwaysSample) (the SDK default); and otlpgo's Adaptive
// sampler at 100 spans a second. In the traced variants the handler traces
// its three steps (decode, hash, encode) as children of the
// instrumentation's span, as a service that traces its own work does;
// -child-spans=false leaves only the instrumentation's span. Spans go
// through otelx over OTLP/HTTP to a collector when one answers on
// OTEL_EXPORTER_OTLP_ENDPOINT (or 127.0.0.1:4318), else to an exporter
// that discards them, so that exporting is counted either way.
//
// Runs interleave the variants (A B C A B C ..., the order rotated each
// round); before each run the program waits for the machine's CPUs to be
// quiet (the collector done with the previous run's spans). The report
// takes medians over the rounds, and the overhead columns are paired: each
// round's figure against the same round's untraced run. The load generator
// and the server share the process, so CPU per request includes the
// client's (identical across variants): the overhead column compares like
// with like.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/otelx"
)

var (
	frameworks = []string{"net/http", "gin", "grpc"}
	variants   = []string{"untraced", "always", "ratio-0.1", "parent-always", "adaptive-100"}
	// diagnostic variants, run only when -variants names them: the SDK
	// dropping every span, and the instrumentation over the OpenTelemetry
	// API with no SDK at all (its no-op TracerProvider).
	diagnostics = []string{"never", "api-only"}
)

type options struct {
	rounds      int
	duration    time.Duration
	concurrency int
	out         string
	name        string
	settle      time.Duration
	settleMax   time.Duration
	only        string // "framework/variant" to run one pair
	frameworks  []string
	variants    []string
	childSpans  bool
	cpuprofile  string
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; the report takes medians")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "load per variant per round")
	flag.IntVar(&o.concurrency, "concurrency", 16, "requests in flight (closed loop)")
	flag.StringVar(&o.out, "out", ".", "directory for the report (NAME.md) and chart (NAME.png)")
	flag.StringVar(&o.name, "name", "overhead", "base name of the report and chart files")
	flag.DurationVar(&o.settle, "settle", 300*time.Millisecond, "pause before each run, for the previous run's export to finish")
	flag.DurationVar(&o.settleMax, "settle-max", 10*time.Second, "after -settle, wait up to this long for the machine's CPUs to be under 10% busy")
	flag.StringVar(&o.only, "only", "", "run one framework/variant pair only, such as net/http/adaptive-100 (no table)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.BoolVar(&o.childSpans, "child-spans", true, "traced variants' handlers trace their three steps as child spans (false: only the instrumentation's span)")
	fw := flag.String("frameworks", strings.Join(frameworks, ","), "comma-separated frameworks to run")
	vs := flag.String("variants", strings.Join(variants, ","), "comma-separated variants to run, untraced among them; also "+strings.Join(diagnostics, ", "))
	flag.Parse()
	o.frameworks = strings.Split(*fw, ",")
	o.variants = strings.Split(*vs, ",")
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "overhead:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(os.Stdout, o); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

// discard is the span exporter used when no collector answers.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// collector returns the OTLP/HTTP endpoint if a collector answers there.
func collector() string {
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" {
		endpoint = "http://127.0.0.1:4318"
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Post(strings.TrimSuffix(endpoint, "/")+"/v1/traces", "application/json", strings.NewReader("{}"))
	if err != nil {
		return ""
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return ""
	}
	return endpoint
}

// telemetry sets up otelx for one variant, or nothing for "untraced" and
// "api-only".
func telemetry(variant, endpoint string) (*otelx.Telemetry, error) {
	if variant == "untraced" || variant == "api-only" {
		return nil, nil
	}
	opts := []otelx.Option{
		otelx.WithServiceName("overhead"),
		otelx.WithGlobal(false),
		otelx.WithMetricReader(sdkmetric.NewManualReader()), // metrics are not what is measured
		otelx.WithErrorHandler(func(error) {}),
	}
	if endpoint != "" {
		opts = append(opts, otelx.WithEndpoint(endpoint))
	} else {
		opts = append(opts, otelx.WithSpanExporter(discard{}))
	}
	switch variant {
	case "always":
		opts = append(opts, otelx.WithSampler(sdktrace.AlwaysSample()))
	case "never":
		opts = append(opts, otelx.WithSampler(sdktrace.NeverSample()))
	case "ratio-0.1":
		opts = append(opts, otelx.WithSampler(sdktrace.TraceIDRatioBased(0.1)))
	case "parent-always":
		opts = append(opts, otelx.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	case "adaptive-100":
		opts = append(opts, otelx.WithSpanBudget(100))
	}
	return otelx.Setup(context.Background(), opts...)
}

// runOne measures one variant of one framework.
func runOne(framework, variant, endpoint string, o options) (measurement, error) {
	tel, err := telemetry(variant, endpoint)
	if err != nil {
		return measurement{}, err
	}
	var tp trace.TracerProvider // nil: no instrumentation
	switch {
	case tel != nil:
		tp = tel.TracerProvider()
	case variant == "api-only":
		tp = tracenoop.NewTracerProvider()
	}
	s, err := startServer(framework, tp, o.childSpans, o.concurrency)
	if err != nil {
		return measurement{}, err
	}
	// Let the previous run's export settle, then warm up connections and
	// code paths, unmeasured.
	runtime.GC()
	waited := settle(o.settle, o.settleMax)
	drive(s, o.concurrency, o.duration/10)
	runtime.GC()
	m := drive(s, o.concurrency, o.duration)
	m.settled = waited
	s.close()
	if tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = tel.Shutdown(ctx) // flushes, so that exported and dropped are final
		cancel()
		h := tel.Health()
		m.started, m.exported, m.dropped = h.Spans.Started, h.Traces.SpansExported, h.Traces.SpansDropped
	}
	return m, nil
}

func run(out io.Writer, o options) error {
	if o.rounds < 1 || o.duration <= 0 || o.concurrency < 1 {
		return fmt.Errorf("-rounds, -duration and -concurrency must be positive")
	}
	for _, f := range o.frameworks {
		if !slices.Contains(frameworks, f) {
			return fmt.Errorf("-frameworks: unknown framework %q (known: %s)", f, strings.Join(frameworks, ", "))
		}
	}
	for _, v := range o.variants {
		if !slices.Contains(variants, v) && !slices.Contains(diagnostics, v) {
			return fmt.Errorf("-variants: unknown variant %q (known: %s)", v, strings.Join(append(slices.Clone(variants), diagnostics...), ", "))
		}
	}
	if !slices.Contains(o.variants, "untraced") {
		return fmt.Errorf("-variants: untraced is needed, as what the others are compared with")
	}
	endpoint := collector()
	where := "a discarding exporter (no collector answered on 127.0.0.1:4318 or OTEL_EXPORTER_OTLP_ENDPOINT)"
	if endpoint != "" {
		where = "OTLP/HTTP to the collector at " + endpoint
	}
	fmt.Fprintf(out, "overhead: %d rounds x %d frameworks x %d variants, %v each at concurrency %d, on %d CPUs (GOMAXPROCS %d)\n",
		o.rounds, len(o.frameworks), len(o.variants), o.duration, o.concurrency, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(out, "  workload: %s\n  spans: %s\n  spans go to %s\n", workload, spansPerRequest(o), where)
	results := map[[2]string][]measurement{}
	for round := 1; round <= o.rounds; round++ {
		for _, f := range o.frameworks {
			// Rotate the order each round, so that no variant always runs
			// right after the ones that export the most (whose spans the
			// collector may still be digesting).
			for k := range o.variants {
				v := o.variants[(k+round-1)%len(o.variants)]
				if o.only != "" && o.only != f+"/"+v {
					continue
				}
				m, err := runOne(f, v, endpoint, o)
				if err != nil {
					return fmt.Errorf("%s %s: %w", f, v, err)
				}
				results[[2]string{f, v}] = append(results[[2]string{f, v}], m)
				fmt.Fprintf(out, "  round %d %-8s %-13s %8.0f req/s  p99 %7v  cpu/1k %6.1fms  errors %d  settled %v\n",
					round, f, v, float64(m.requests)/m.elapsed.Seconds(), m.hist.percentile(0.99).Round(time.Microsecond),
					perThousand(m), m.errors, m.settled.Round(10*time.Millisecond))
			}
		}
	}
	if o.only != "" {
		return nil
	}
	table, rows := report(results, o)
	fmt.Fprintln(out)
	fmt.Fprint(out, table)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	md := fmt.Sprintf("Workload: %s. Spans: %s. Spans to %s. %d CPUs, concurrency %d, %v per run, medians of %d interleaved rounds.\n\n%s",
		workload, spansPerRequest(o), where, runtime.NumCPU(), o.concurrency, o.duration, o.rounds, table)
	mdPath := filepath.Join(o.out, o.name+".md")
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return err
	}
	png := filepath.Join(o.out, o.name+".png")
	if err := chart(rows, o.frameworks, o.variants, png); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nwrote %s and %s\n", mdPath, png)
	return nil
}

// spansPerRequest says what a traced request records.
func spansPerRequest(o options) string {
	if o.childSpans {
		return "4 per traced request (the instrumentation's server span and the handler's three steps as children)"
	}
	return "1 per traced request (the instrumentation's server span; -child-spans=false)"
}

func perThousand(m measurement) float64 {
	if m.requests == 0 {
		return 0
	}
	return float64(m.cpu) / float64(time.Millisecond) * 1000 / float64(m.requests)
}

// pairedMedian returns the median over rounds of f(ms[i]) / f(base[i]) - 1,
// or 0 when the rounds do not pair up.
func pairedMedian(ms, base []measurement, f func(measurement) float64) float64 {
	if len(ms) != len(base) || len(ms) == 0 {
		return 0
	}
	v := make([]float64, len(ms))
	for i := range ms {
		v[i] = f(ms[i])/f(base[i]) - 1
	}
	return medianOf(v)
}

// median returns the median of the values f picks from ms.
func median(ms []measurement, f func(measurement) float64) float64 {
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// row is one line of the report.
type row struct {
	framework, variant       string
	rps, p50, p90, p99       float64 // latencies in µs
	cpuPerK, overhead, rssMB float64 // overhead in % of untraced CPU per request
	p99Change                float64 // in % of untraced P99
	started, exported, drop  float64
}

func report(results map[[2]string][]measurement, o options) (string, []row) {
	var rows []row
	var b strings.Builder
	b.WriteString("| framework | variant | req/s | P50 µs | P90 µs | P99 µs | P99 vs untraced | CPU ms / 1k req | CPU overhead | peak RSS MB | spans started | exported | dropped |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, f := range o.frameworks {
		base := results[[2]string{f, "untraced"}]
		for _, v := range o.variants {
			ms := results[[2]string{f, v}]
			r := row{framework: f, variant: v,
				rps:      median(ms, func(m measurement) float64 { return float64(m.requests) / m.elapsed.Seconds() }),
				p50:      median(ms, func(m measurement) float64 { return float64(m.hist.percentile(0.50).Microseconds()) }),
				p90:      median(ms, func(m measurement) float64 { return float64(m.hist.percentile(0.90).Microseconds()) }),
				p99:      median(ms, func(m measurement) float64 { return float64(m.hist.percentile(0.99).Microseconds()) }),
				cpuPerK:  median(ms, perThousand),
				rssMB:    median(ms, func(m measurement) float64 { return float64(m.peakRSS) / (1 << 20) }),
				started:  median(ms, func(m measurement) float64 { return float64(m.started) }),
				exported: median(ms, func(m measurement) float64 { return float64(m.exported) }),
				drop:     median(ms, func(m measurement) float64 { return float64(m.dropped) }),
			}
			// Overheads are paired: each round's figure against the untraced
			// run of the same framework in the same round, then the median
			// over rounds, so that drift between rounds cancels.
			r.overhead = 100 * pairedMedian(ms, base, perThousand)
			r.p99Change = 100 * pairedMedian(ms, base, func(m measurement) float64 { return float64(m.hist.percentile(0.99)) })
			rows = append(rows, r)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %+.1f%% | %.1f | %+.1f%% | %.0f | %.0f | %.0f | %.0f |\n",
				f, v, r.rps, r.p50, r.p90, r.p99, r.p99Change, r.cpuPerK, r.overhead, r.rssMB, r.started, r.exported, r.drop)
		}
	}
	b.WriteString("\n")
	for _, f := range o.frameworks {
		var always, adaptive row
		for _, r := range rows {
			if r.framework == f && r.variant == "always" {
				always = r
			}
			if r.framework == f && r.variant == "adaptive-100" {
				adaptive = r
			}
		}
		if always.overhead > 0 {
			fmt.Fprintf(&b, "- %s: adaptive-100's CPU overhead is %.2f of always's (%+.1f%% against %+.1f%%); its P99 is %+.1f%% against untraced (always: %+.1f%%).\n",
				f, adaptive.overhead/always.overhead, adaptive.overhead, always.overhead, adaptive.p99Change, always.p99Change)
		}
	}
	return b.String(), rows
}
