// Command otlpgo-demo runs a small traced workload through otlpgo and
// prints what its telemetry did.
//
//	go run ./cmd/otlpgo-demo [-duration 3s] [-workers 4] [-rate 2000]
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// set, spans and metrics go over OTLP/HTTP to that collector, for example
// the one scripts/collector.sh runs on 127.0.0.1:4318. Without it, nothing
// leaves the process: an embedded exporter keeps a summary of what would
// have been exported and prints it at the end.
//
// The workload is a simulated order flow: each order gets a server span,
// a pre-trade risk check and a matching step as child spans, and metrics
// for orders by outcome and their latency. Later packages (risk, orderbook,
// ringbuffer, concurrency) replace the simulated steps with the real ones.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric"

	"github.com/otlpgo/otlpgo/otelx"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long to run the workload")
	workers := flag.Int("workers", 4, "concurrent order submitters")
	rate := flag.Int("rate", 2000, "orders per second across all workers; 0 for as fast as possible (watch the export queue overflow)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *duration, *workers, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "otlpgo-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, duration time.Duration, workers, rate int) error {
	if duration <= 0 || workers <= 0 || rate < 0 {
		return errors.New("-duration and -workers must be positive, -rate not negative")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	// Export over OTLP when the environment names a collector; otherwise
	// keep a summary in the process.
	var summary *summaryExporter
	opts := []otelx.Option{
		otelx.WithServiceName("otlpgo-demo"),
		otelx.WithServiceVersion("dev"),
		otelx.WithErrorHandler(firstError(out)),
	}
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" {
		summary = newSummaryExporter()
		opts = append(opts,
			otelx.WithSpanExporter(summary),
			otelx.WithMetricExporter(summary),
			otelx.WithMetricInterval(time.Second))
	}
	tel, err := otelx.Setup(ctx, opts...)
	if err != nil {
		return err
	}
	defer func() {
		// Shutdown already ran below; this only covers early returns.
		_ = tel.Shutdown(context.Background())
	}()

	where := "OTLP/HTTP to " + endpoint
	if summary != nil {
		where = "nowhere (OTEL_EXPORTER_OTLP_ENDPOINT is not set): an in-process summary follows"
	}
	pace := "as fast as possible"
	if rate > 0 {
		pace = fmt.Sprintf("%d/s", rate)
	}
	fmt.Fprintf(out, "otlpgo-demo: %v of simulated orders at %s on %d workers, exporting %s\n", duration, pace, workers, where)

	w, err := newWorkload(otel.GetTracerProvider(), otel.GetMeterProvider())
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { w.submitLoop(runCtx, uint64(i), workerInterval(rate, workers)) })
	}
	progress(runCtx, out, tel, w, start)
	wg.Wait()
	elapsed := time.Since(start)

	shutdownCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelShutdown()
	shutdownErr := tel.Shutdown(shutdownCtx)
	report(out, tel.Health(), w, elapsed, summary)
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	return nil
}

// progress prints a line every half second until ctx ends: on a terminal
// it rewrites one line, elsewhere it prints one a second.
func progress(ctx context.Context, out io.Writer, tel *otelx.Telemetry, w *workload, start time.Time) {
	tty := isTerminal(out)
	every := time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	line := func(end string) {
		h := tel.Health()
		fmt.Fprintf(out, "  %5.1fs  orders %8d  spans started %8d  exported %8d  dropped %6d  health %-8s%s",
			time.Since(start).Seconds(), w.orders.Load(), h.Spans.Started, h.Traces.SpansExported,
			h.Traces.SpansDropped, h.Status, end)
	}
	for {
		select {
		case <-ctx.Done():
			if tty {
				line("\n")
			}
			return
		case <-tick.C:
			if tty {
				line("\r")
			} else {
				line("\n")
			}
		}
	}
}

// workerInterval is the pause between one worker's orders for the total
// rate; 0 means no pause.
func workerInterval(rate, workers int) time.Duration {
	if rate == 0 {
		return 0
	}
	return time.Duration(workers) * time.Second / time.Duration(rate)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// firstError prints the first export error and counts the rest, so an
// unreachable collector does not flood the terminal; health has the detail.
func firstError(out io.Writer) func(error) {
	var n atomic.Int64
	return func(err error) {
		if n.Add(1) == 1 {
			fmt.Fprintf(out, "  export error (further ones are counted in health): %v\n", err)
		}
	}
}

func report(out io.Writer, h otelx.Health, w *workload, elapsed time.Duration, summary *summaryExporter) {
	row := func(name string, v any, note string) { fmt.Fprintf(out, "  %-16s %10v  %s\n", name, v, note) }
	fmt.Fprintln(out)
	fmt.Fprintln(out, "summary")
	orders := w.orders.Load()
	row("orders placed", orders, fmt.Sprintf("%.0f/s", float64(orders)/elapsed.Seconds()))
	row("orders filled", w.filled.Load(), "")
	row("orders rejected", w.rejected.Load(), "by the risk check (quantity over the limit)")
	row("spans started", h.Spans.Started, "")
	row("spans sampled", h.Spans.Sampled, "by "+shortSampler(setting(h, "traces.sampler")))
	row("spans exported", h.Traces.SpansExported, "")
	row("spans failed", h.Traces.SpansFailed, "in exports that returned an error")
	row("spans dropped", h.Traces.SpansDropped, fmt.Sprintf("because the export queue (%d) was full", h.Traces.QueueCapacity))
	row("spans open", h.Spans.Open, "started and never ended")
	row("metric exports", h.Metrics.Exports, fmt.Sprintf("%d failed", h.Metrics.FailedExports))
	row("health", h.Status, lastReason(h))
	if summary != nil {
		summary.print(out)
	}
}

func setting(h otelx.Health, name string) string {
	for _, s := range h.Settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

// shortSampler turns the SDK's ParentBased{root:X,...} description into
// ParentBased(X).
func shortSampler(desc string) string {
	rest, ok := strings.CutPrefix(desc, "ParentBased{root:")
	if !ok {
		return desc
	}
	root, _, _ := strings.Cut(rest, ",remoteParent")
	return "ParentBased(" + root + ")"
}

func lastReason(h otelx.Health) string {
	if len(h.Reasons) == 0 {
		if h.Traces.LastError != "" {
			return "last error: " + h.Traces.LastError
		}
		return ""
	}
	return h.Reasons[0]
}

var _ metric.Exporter = (*summaryExporter)(nil)
