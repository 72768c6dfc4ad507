// Command overhead measures what tracing costs a service, per framework
// and sampler, in one reproducible run on this machine:
//
//	cd benchmarks && go run ./cmd/overhead [-rounds 3] [-duration 2s] [-concurrency 16] [-out .]
//
// It starts each framework's server on 127.0.0.1 (net/http with otelhttp,
// Gin with otelgin, gRPC with otelgrpc, each with W3C trace context and
// baggage propagators), drives it with a closed-loop load generator in
// the same process, and measures requests a second, latency percentiles
// (an HDR-style histogram), process CPU per 1,000 requests (getrusage),
// peak RSS, and spans started, exported, failed and dropped, for five
// variants: no tracing; the SDK's AlwaysSample, TraceIDRatioBased(0.1) and
// ParentBased(AlwaysSample) (the SDK default); and otlpgo's Adaptive
// sampler at 100 spans a second. The samplers are installed through otelx,
// so each traced variant also has what otelx adds (its span counter, leak
// detection and batch processor), as a user of otelx gets them. Requests
// arrive without a traceparent, as at an edge service, so parent-always
// samples as always does. In the traced variants the handler traces its
// three steps (decode, hash, encode) as children of the instrumentation's
// span, as a service that traces its own work does; -child-spans=false
// leaves only the instrumentation's span. Spans go over OTLP/HTTP to a
// collector when one answers on OTEL_EXPORTER_OTLP_ENDPOINT (or
// 127.0.0.1:4318), else to an exporter that discards them; a run's spans
// are flushed before its CPU is read, so exporting them is counted.
//
// Each round runs the variants in a new random order (-seed), each run
// after the machine's CPUs are quiet (the collector done with the
// previous run's spans). The report takes medians over the rounds, and
// the overhead columns are paired: each round's figure against the same
// round's untraced run. The load generator shares the process, so CPU per
// request includes the client's, the same in every variant: the "CPU µs
// added" column is what tracing added to a request, and the percentage
// is of the client's and server's CPU together (a server alone would see
// a larger one). The loop is closed and saturates the CPUs, so latency
// percentiles move with throughput.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
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
	seed        uint64
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds; the report takes medians")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "load per variant per round")
	flag.IntVar(&o.concurrency, "concurrency", 16, "requests in flight (closed loop)")
	flag.StringVar(&o.out, "out", ".", "directory for the report (NAME.md) and chart (NAME.png)")
	flag.StringVar(&o.name, "name", "overhead", "base name of the report and chart files")
	flag.DurationVar(&o.settle, "settle", 300*time.Millisecond, "pause before each run, for the previous run's export to finish")
	flag.DurationVar(&o.settleMax, "settle-max", 10*time.Second, "wait at most this long in all (-settle included) for the machine's CPUs to be under 10% busy")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "seed of the variants' order in each round (printed, to repeat a run)")
	flag.StringVar(&o.only, "only", "", "run one framework/variant pair only, such as net/http/adaptive-100 (no table)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.BoolVar(&o.childSpans, "child-spans", true, "traced variants' handlers trace their three steps as child spans (false: only the instrumentation's span)")
	fw := flag.String("frameworks", strings.Join(frameworks, ","), "comma-separated frameworks to run")
	vs := flag.String("variants", strings.Join(variants, ","), "comma-separated variants to run, untraced among them; also "+strings.Join(diagnostics, ", "))
	flag.Parse()
	o.frameworks = strings.Split(*fw, ",")
	o.variants = strings.Split(*vs, ",")
	if err := profiled(o, func() error { return run(os.Stdout, o) }); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

// profiled runs f, under a CPU profile written to o.cpuprofile if set.
func profiled(o options, f func() error) error {
	if o.cpuprofile == "" {
		return f()
	}
	file, err := os.Create(o.cpuprofile)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return err
	}
	err = f()
	pprof.StopCPUProfile()
	return errors.Join(err, file.Close())
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
	tel, err := otelx.Setup(context.Background(), opts...)
	if err != nil {
		return nil, err
	}
	// The OTEL_* environment could turn a variant into another one.
	h := tel.Health()
	switch {
	case h.Status == otelx.StatusDisabled:
		err = errors.New("OTEL_SDK_DISABLED=true: every variant would be untraced")
	case variant == "adaptive-100" && h.Sampler == nil:
		err = errors.New("adaptive-100: the environment replaced the adaptive sampler (OTEL_TRACES_SAMPLER?)")
	}
	if err != nil {
		_ = shutdown(tel)
		return nil, err
	}
	return tel, nil
}

// shutdown flushes and stops a variant's telemetry, bounded.
func shutdown(tel *otelx.Telemetry) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tel.Shutdown(ctx)
}

// flush exports every span ended so far, bounded.
func flush(tel *otelx.Telemetry) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tel.ForceFlush(ctx)
}

// runOne measures one variant of one framework: a warm-up, then a
// measured run whose CPU includes exporting the spans it made (flushed
// before the CPU is read), and whose span counts leave out the warm-up's.
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
		if tel != nil {
			_ = shutdown(tel)
		}
		return measurement{}, err
	}
	// Let the previous run's export settle, then warm up connections and
	// code paths, unmeasured.
	runtime.GC()
	waited := settle(o.settle, o.settleMax)
	drive(s, o.concurrency, o.duration/10)
	var before otelx.Health
	if tel != nil {
		err = flush(tel)
		before = tel.Health()
	}
	debug.FreeOSMemory() // so that the peak resident set is this run's
	rssErr := resetPeakRSS()
	cpu0 := cpuTime()
	m := drive(s, o.concurrency, o.duration)
	if tel != nil {
		err = errors.Join(err, flush(tel))
	}
	m.cpu = cpuTime() - cpu0
	m.peakRSS = -1
	if rssErr == nil {
		m.peakRSS = peakRSS()
	}
	m.settled = waited
	s.close()
	if tel != nil {
		err = errors.Join(err, shutdown(tel))
		h := tel.Health()
		m.started = h.Spans.Started - before.Spans.Started
		m.exported = h.Traces.SpansExported - before.Traces.SpansExported
		m.failed = h.Traces.SpansFailed - before.Traces.SpansFailed
		m.dropped = h.Traces.SpansDropped - before.Traces.SpansDropped
	}
	if err != nil {
		return m, fmt.Errorf("telemetry: %w", err)
	}
	if m.errors > 0 {
		return m, fmt.Errorf("%d requests failed", m.errors)
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
	if dup := duplicate(o.frameworks); dup != "" {
		return fmt.Errorf("-frameworks: %q twice", dup)
	}
	if dup := duplicate(o.variants); dup != "" {
		return fmt.Errorf("-variants: %q twice", dup)
	}
	if o.only != "" {
		i := strings.LastIndex(o.only, "/")
		if i < 0 || !slices.Contains(o.frameworks, o.only[:i]) || !slices.Contains(o.variants, o.only[i+1:]) {
			return fmt.Errorf("-only: %q is not framework/variant of -frameworks and -variants", o.only)
		}
	}
	endpoint := collector()
	where := "a discarding exporter (no collector answered on 127.0.0.1:4318 or OTEL_EXPORTER_OTLP_ENDPOINT)"
	if endpoint != "" {
		where = "OTLP/HTTP to the collector at " + endpoint
	}
	fmt.Fprintf(out, "overhead: %d rounds x %d frameworks x %d variants, %v each at concurrency %d, on %d CPUs (GOMAXPROCS %d)\n",
		o.rounds, len(o.frameworks), len(o.variants), o.duration, o.concurrency, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(out, "  workload: %s\n  spans: %s\n  spans go to %s\n  variants in a new random order each round, -seed %d\n",
		workload, spansPerRequest(o), where, o.seed)
	results := map[[2]string][]measurement{}
	rng := rand.New(rand.NewPCG(o.seed, 0))
	for round := 1; round <= o.rounds; round++ {
		for _, f := range o.frameworks {
			// A fresh random order each round, so that what a run inherits
			// from the one before it (the collector still digesting its
			// spans, a warm or cold cache) falls on every variant alike.
			for _, k := range rng.Perm(len(o.variants)) {
				v := o.variants[k]
				if o.only != "" && o.only != f+"/"+v {
					continue
				}
				m, err := runOne(f, v, endpoint, o)
				if err != nil {
					return fmt.Errorf("%s %s: %w", f, v, err)
				}
				results[[2]string{f, v}] = append(results[[2]string{f, v}], m)
				fmt.Fprintf(out, "  round %d %-8s %-13s %8.0f req/s  p99 %7v  cpu/1k %6.1fms  settled %v\n",
					round, f, v, float64(m.requests)/m.elapsed.Seconds(), m.hist.percentile(0.99).Round(time.Microsecond),
					perThousand(m), m.settled.Round(10*time.Millisecond))
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

// pairedMedian returns the median over rounds of cmp(f(ms[i]),
// f(base[i])), or NaN when the rounds do not pair up.
func pairedMedian(ms, base []measurement, f func(measurement) float64, cmp func(x, base float64) float64) float64 {
	if len(ms) != len(base) || len(ms) == 0 {
		return math.NaN()
	}
	v := make([]float64, len(ms))
	for i := range ms {
		v[i] = cmp(f(ms[i]), f(base[i]))
	}
	return medianOf(v)
}

// relative is x's change from base, as a fraction.
func relative(x, base float64) float64 { return x/base - 1 }

// added is what x adds to base.
func added(x, base float64) float64 { return x - base }

// duplicate returns a value that occurs twice in list, or "".
func duplicate(list []string) string {
	for i, v := range list {
		if slices.Contains(list[:i], v) {
			return v
		}
	}
	return ""
}

// pct formats a percentage, or n/a.
func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", v)
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
	cpuAdded                 float64 // µs of CPU per request over untraced
	p99Change                float64 // in % of untraced P99
	started, exported, drop  float64
	failed                   float64
}

func report(results map[[2]string][]measurement, o options) (string, []row) {
	var rows []row
	var b strings.Builder
	b.WriteString("| framework | variant | req/s | P50 µs | P90 µs | P99 µs | P99 vs untraced | CPU ms / 1k req | CPU µs added / req | CPU overhead | peak RSS MB | spans started | exported | failed | dropped |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
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
				failed:   median(ms, func(m measurement) float64 { return float64(m.failed) }),
			}
			// Overheads are paired: each round's figure against the untraced
			// run of the same framework in the same round, then the median
			// over rounds, so that drift between rounds cancels.
			r.overhead = 100 * pairedMedian(ms, base, perThousand, relative)
			r.cpuAdded = pairedMedian(ms, base, perThousand, added) // ms per 1k requests = µs per request
			r.p99Change = 100 * pairedMedian(ms, base, func(m measurement) float64 { return float64(m.hist.percentile(0.99)) }, relative)
			rows = append(rows, r)
			rss := "n/a"
			if r.rssMB >= 0 {
				rss = fmt.Sprintf("%.0f", r.rssMB)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %.1f | %+.1f | %s | %s | %.0f | %.0f | %.0f | %.0f |\n",
				f, v, r.rps, r.p50, r.p90, r.p99, pct(r.p99Change), r.cpuPerK, r.cpuAdded, pct(r.overhead), rss, r.started, r.exported, r.failed, r.drop)
		}
	}
	b.WriteString("\n")
	for _, f := range o.frameworks {
		var always, adaptive *row
		for i, r := range rows {
			if r.framework == f && r.variant == "always" {
				always = &rows[i]
			}
			if r.framework == f && r.variant == "adaptive-100" {
				adaptive = &rows[i]
			}
		}
		if always != nil && adaptive != nil && always.overhead > 0 {
			fmt.Fprintf(&b, "- %s: adaptive-100's CPU overhead is %.2f of always's (%+.1f%% against %+.1f%%); its P99 is %+.1f%% against untraced (always: %+.1f%%).\n",
				f, adaptive.overhead/always.overhead, adaptive.overhead, always.overhead, adaptive.p99Change, always.p99Change)
		}
	}
	return b.String(), rows
}
