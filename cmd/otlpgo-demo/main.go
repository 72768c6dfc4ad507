// Command otlpgo-demo runs a small traced workload through otlpgo and
// prints what its telemetry did.
//
//	go run ./cmd/otlpgo-demo [-duration 9s] [-workers 4] [-rate 2000] [-budget 1000]
//
// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans and metrics go over OTLP/HTTP
// to that collector, for example the one scripts/collector.sh runs on
// 127.0.0.1:4318 (the per-signal variables refine it as usual). Without it, nothing
// leaves the process: an embedded exporter keeps a summary of what would
// have been exported and prints it at the end.
//
// The workload is an order flow: each order gets a server span, a
// pre-trade check through a real risk.Engine and a match through a real
// orderbook.Engine as child spans, and metrics for orders by outcome and
// their latency; the book adds a span per batch of commands and its own
// counters, and its event stream feeds fills and cancels back to risk.
// Workers quote limit orders around a price of 100 to 119 with some IOC,
// market and post-only orders (and the odd fat-fingered price), and
// cancel their old quotes. The run has three phases: the base rate, five
// times the base rate, and the base rate with the per-order quantity
// limit lowered while orders flow (risk.Engine.SetConfig), which rejects
// a fifth of the orders as errors. The adaptive sampler (otelx's default)
// holds the sampled spans near the budget through the load step and
// samples more during the errors; a progress line shows it once a second.
// At the end the book's command log is replayed and the rebuilt book
// compared with the engine's, risk's open orders with the book's resting
// ones, and the session's fills are settled through a concurrency
// pipeline whose clearing stage runs a saga per fill (debit the buyer,
// credit the seller, confirm with a flaky clearing house, compensating
// when it rejects the trade) on a bbolt log.
//
// Every trace is bounded: an order is a trace (its server span, the risk
// check and the match), a batch of the book is a trace of one span, and
// a fill's settlement is a trace (the pipeline's item spans, the saga and
// its steps) linked to the pipeline's run span, so that each is sampled
// on its own and no trace grows with the run. The summary shows the
// sampled spans that ended in each second, from the start to the end of
// settlement, against the budget, and the largest trace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/otelx"
)

// options are the demo's flags.
type options struct {
	duration time.Duration
	workers  int
	rate     int     // base orders per second; 0: as fast as possible
	budget   float64 // sampled spans per second
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 9*time.Second, "how long to run the workload (three equal phases)")
	flag.IntVar(&o.workers, "workers", 4, "concurrent order submitters")
	flag.IntVar(&o.rate, "rate", 2000, "base orders per second across all workers; 0 for as fast as possible (watch the export queue)")
	flag.Float64Var(&o.budget, "budget", 1000, "the adaptive sampler's budget, in sampled spans per second")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "otlpgo-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, o options) error {
	if o.duration <= 0 || o.workers <= 0 || o.rate < 0 || !(o.budget > 0) {
		return errors.New("-duration, -workers and -budget must be positive, -rate not negative")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	out = &syncWriter{w: out} // progress, errors and the main goroutine print

	// Export over OTLP when the environment names a collector; otherwise
	// keep a summary in the process.
	var summary *summaryExporter
	// Export errors, and the SDK's own (a metric collection cut short at
	// shutdown, say), go to one handler that prints the first.
	onError := firstError(out)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(onError))
	opts := []otelx.Option{
		otelx.WithServiceName("otlpgo-demo"),
		otelx.WithServiceVersion("dev"),
		otelx.WithSpanBudget(o.budget),
		otelx.WithErrorHandler(onError),
	}
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
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
	if o.rate > 0 {
		pace = fmt.Sprintf("%d/s, then %d/s, then %d/s with errors", o.rate, 5*o.rate, o.rate)
	}
	fmt.Fprintf(out, "otlpgo-demo: %v of simulated orders at %s on %d workers, sampling budget %g spans/s,\n  exporting %s\n",
		o.duration, pace, o.workers, o.budget, where)

	dir, err := os.MkdirTemp("", "otlpgo-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := newWorkload(otel.GetTracerProvider(), otel.GetMeterProvider(), filepath.Join(dir, "book.log"))
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	// Count sampled spans per second, from the start to the end of
	// settlement, whatever the exporter.
	var counter *sampledCounter
	if sdk, ok := tel.TracerProvider().(*sdktrace.TracerProvider); ok {
		counter = newSampledCounter(start)
		sdk.RegisterSpanProcessor(counter)
	}
	sched := schedule{start: start, duration: o.duration, base: o.rate}
	// The progress line goes on through settlement, a second at a time.
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer stopProgress()
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		progress(progressCtx, out, tel, w, sched)
	}()
	var wg sync.WaitGroup
	for i := range o.workers {
		wg.Go(func() { w.submitLoop(runCtx, uint64(i), sched, o.workers) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	shutdownCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelShutdown()
	book, bookErr := w.closeBook(shutdownCtx) // before telemetry, so its last spans are exported
	fmt.Fprintf(out, "  settling %d fills, each by a saga on a bbolt log, each fill a trace of its own ...\n", len(w.fills))
	settled, settleErr := settle(ctx, dir, w.fills) // Ctrl-C stops it; the sagas stay in the log
	settledAt := time.Now()
	stopProgress()
	<-progressDone
	// Telemetry's own 10 s start now: settlement may have used up
	// shutdownCtx's.
	telCtx, cancelTel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelTel()
	shutdownErr := tel.Shutdown(telCtx)
	report(out, tel.Health(), w, elapsed, book, settled)
	if counter != nil {
		counter.report(out, o.budget, settledAt)
	}
	if summary != nil {
		summary.print(out)
	}
	switch {
	case bookErr != nil:
		return fmt.Errorf("order book: %w", bookErr)
	case settleErr != nil:
		return fmt.Errorf("settlement: %w", settleErr)
	case !book.replayMatches:
		return errors.New("order book: the replayed log does not rebuild the engine's book")
	case shutdownErr != nil:
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	return nil
}

// schedule is the load over time: three equal phases.
type schedule struct {
	start    time.Time
	duration time.Duration
	base     int // orders per second in phases 1 and 3; 0: unpaced
}

// phase returns 0, 1 or 2 for the time t.
func (s schedule) phase(t time.Time) int {
	return min(int(3*t.Sub(s.start)/s.duration), 2)
}

// rate returns the orders per second at t: base, 5x base, base.
func (s schedule) rate(t time.Time) int {
	if s.phase(t) == 1 {
		return 5 * s.base
	}
	return s.base
}

var phaseNames = [3]string{"base load", "5x load", "errors"}

// progress prints a line a second until ctx ends (through the workload
// and then settlement): the phase, orders, the
// sampler's probability and its estimate of spans arriving per second, the
// spans actually started and sampled in the last second, and what the
// exporter did.
func progress(ctx context.Context, out io.Writer, tel *otelx.Telemetry, w *workload, s schedule) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev, prevAt := tel.Health(), s.start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			h := tel.Health()
			secs := now.Sub(prevAt).Seconds()
			started := float64(h.Spans.Started-prev.Spans.Started) / secs
			sampled := float64(h.Spans.Sampled-prev.Spans.Sampled) / secs
			prev, prevAt = h, now
			p, est, boost := 1.0, 0.0, ""
			if st := h.Sampler; st != nil {
				p, est = st.Probability, st.SpansPerSecond
				if st.Boosted {
					boost = fmt.Sprintf("  boosted: errors %.0f%%", 100*st.ErrorRatio)
				}
			}
			phase := phaseNames[s.phase(now.Add(-500*time.Millisecond))]
			if now.Sub(s.start) > s.duration+500*time.Millisecond {
				phase = "settling"
			}
			fmt.Fprintf(out, "  %4.1fs %-9s p %.4f  spans/s %6.0f (estimated %6.0f)  sampled/s %5.0f  exported %6d  dropped %d  %s%s\n",
				now.Sub(s.start).Seconds(), phase, p, started, est, sampled,
				h.Traces.SpansExported, h.Traces.SpansDropped, h.Status, boost)
		}
	}
}

// firstError prints the first export error and counts the rest, so an
// unreachable collector does not flood the terminal; health has the detail.
func firstError(out io.Writer) func(error) {
	var n atomic.Int64
	return func(err error) {
		if errors.Is(err, context.Canceled) {
			return // work cut short by shutdown, not a failure to report
		}
		if n.Add(1) == 1 {
			fmt.Fprintf(out, "  export error (further ones are counted in health): %v\n", err)
		}
	}
}

func report(out io.Writer, h otelx.Health, w *workload, elapsed time.Duration, book bookReport, settled settleReport) {
	row := func(name string, v any, note string) { fmt.Fprintf(out, "  %-16s %10v  %s\n", name, v, note) }
	fmt.Fprintln(out)
	fmt.Fprintln(out, "summary")
	orders := w.orders.Load()
	row("orders placed", orders, fmt.Sprintf("%.0f/s", float64(orders)/elapsed.Seconds()))
	row("orders filled", w.filled.Load(), "traded in full, or in part with the rest cancelled")
	row("orders rested", w.rested.Load(), "in the book, perhaps after trading some")
	row("orders cancelled", w.cancelled.Load(), "IOC or market with nothing to take, or self-trade prevention")
	row("orders rejected", w.rejected.Load(), "by pre-trade risk: "+w.rejectionsByRule())
	row("book rejects", w.refused.Load(), "by the book (post-only orders that would take)")
	row("book commands", book.commands, fmt.Sprintf("orders and cancels through the engine, %d bytes of log; %d orders rest at the end", book.logBytes, book.resting))
	row("log replay", book.replay.Round(time.Microsecond), fmt.Sprintf("rebuilt book identical to the engine's: %v", book.replayMatches))
	row("fills settled", settled.settled,
		fmt.Sprintf("of %d, each by a saga (debit, credit, confirm) on a bbolt log in a 2-stage pipeline; %d compensated, %d stuck; %d clearing calls retried",
			len(w.fills), settled.compensated, settled.stuck, settled.retried))
	row("risk open", book.riskOpen, fmt.Sprintf("orders risk holds reservations for (the book has %d resting); %d fills or releases refused", book.resting, w.riskSync.Load()))
	row("spans started", h.Spans.Started, "")
	row("spans sampled", h.Spans.Sampled, "by "+shortSampler(setting(h, "traces.sampler")))
	row("spans exported", h.Traces.SpansExported, "")
	row("spans failed", h.Traces.SpansFailed, "in exports that returned an error")
	row("spans dropped", h.Traces.SpansDropped, fmt.Sprintf("because the export queue (%d) was full", h.Traces.QueueCapacity))
	row("spans open", h.Spans.Open, "started and never ended")
	row("metric exports", h.Metrics.Exports, fmt.Sprintf("%d failed", h.Metrics.FailedExports))
	row("health", h.Status, lastReason(h))
}

func setting(h otelx.Health, name string) string {
	for _, s := range h.Settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

// shortSampler trims a sampler description to its name and first setting:
// Adaptive{budget:500/s,...} becomes Adaptive{budget:500/s}.
func shortSampler(desc string) string {
	name, rest, ok := strings.Cut(desc, "{")
	if !ok {
		return desc
	}
	first, _, _ := strings.Cut(rest, ",")
	return name + "{" + strings.TrimSuffix(first, "}") + "}"
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
