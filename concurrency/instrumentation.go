package concurrency

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/version"
	"github.com/otlpgo/otlpgo/panics"
)

const scopeName = "github.com/otlpgo/otlpgo/concurrency"

func tracerOf(c *config) trace.Tracer {
	return c.tp.Tracer(scopeName, trace.WithInstrumentationVersion(version.Version))
}

// safeTracerOf is tracerOf under panics: the TracerProvider is the
// user's code.
func safeTracerOf(c *config) (tr trace.Tracer, err error) {
	err = panics.Try(func() error { tr = tracerOf(c); return nil })
	return tr, err
}

// startSpan starts a span under panics: a panicking Tracer is the
// caller's error (a *panics.Error), before any work starts.
func startSpan(ctx context.Context, tr trace.Tracer, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span, error) {
	var span trace.Span
	sctx := ctx
	if err := panics.Try(func() error { sctx, span = tr.Start(ctx, name, opts...); return nil }); err != nil {
		return ctx, nil, err
	}
	return sctx, span, nil
}

// endSpan ends span, dropping a panic: the work is done, and a bug in the
// user's TracerProvider must not change its result nor escape.
func endSpan(span trace.Span) {
	_ = panics.Try(func() error { span.End(); return nil })
}

// recordSpan records err on span, dropping a panic, as endSpan.
func recordSpan(span trace.Span, err error) {
	_ = panics.Try(func() error { errs.Record(span, err); return nil })
}

// withoutSpan returns ctx with no span in it: its values, deadline and
// cancellation, but an invalid span context, so that spans started from
// it are roots. A run or stage hands it to per-item work, so that one
// item's spans are a trace of their own instead of children of a span
// that lasts as long as the run (see the package doc, # Traces).
func withoutSpan(ctx context.Context) context.Context {
	return trace.ContextWithSpanContext(ctx, trace.SpanContext{})
}

// spanContextOf returns span's context, or the zero one if the user's
// Span panics.
func spanContextOf(span trace.Span) (sc trace.SpanContext) {
	_ = panics.Try(func() error { sc = span.SpanContext(); return nil })
	return sc
}

// linkTo is the start option that links an item's span to the run's
// span sc: no link if sc is invalid (no SDK, or a panicking Span).
// The messaging conventions define no attributes for such a link.
func linkTo(sc trace.SpanContext) trace.SpanStartOption {
	if !sc.IsValid() {
		return trace.WithLinks()
	}
	return trace.WithLinks(trace.Link{SpanContext: sc})
}

// mustContext panics, on the caller's goroutine, for a nil ctx: a
// programmer error, as for context.WithCancel(nil) and
// errgroup.WithContext(nil). Checked before any goroutine starts, so
// that the panic is the caller's, not a crash in one of ours.
func mustContext(ctx context.Context) {
	if ctx == nil {
		panic("concurrency: nil Context")
	}
}

// poolInstrumentation is a pool's telemetry: gauges read atomics at
// collection, and per-task measurements are made only when an SDK
// listens (Enabled), so that a pool without one pays nothing per task.
type poolInstrumentation struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	errors   metric.Int64Counter
	// Precomputed option slices: passing a fresh one to the instrument (an
	// interface) would allocate it for every task.
	recordOpts []metric.RecordOption
	addOpts    []metric.AddOption
	reg        metric.Registration
}

func newPoolInstrumentation(c *config, queueLen func() int, inflight func() int64) (*poolInstrumentation, error) {
	meter := c.mp.Meter(scopeName, metric.WithInstrumentationVersion(version.Version))
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("concurrency.pool", c.name)))
	inst := &poolInstrumentation{
		tracer:     tracerOf(c),
		recordOpts: []metric.RecordOption{attrs},
		addOpts:    []metric.AddOption{attrs},
	}
	var errs [4]error
	inst.duration, errs[0] = meter.Float64Histogram("concurrency.pool.task.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a task ran on a worker."))
	inst.errors, errs[1] = meter.Int64Counter("concurrency.pool.task.errors", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks that returned an error or panicked."))
	depth, e2 := meter.Int64ObservableGauge("concurrency.pool.queue.depth", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks waiting for a worker."))
	inflightG, e3 := meter.Int64ObservableGauge("concurrency.pool.inflight", metric.WithUnit("{task}"),
		metric.WithDescription("Tasks running on a worker."))
	errs[2], errs[3] = e2, e3
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	set := attribute.NewSet(attribute.String("concurrency.pool", c.name))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(depth, int64(queueLen()), metric.WithAttributeSet(set))
		o.ObserveInt64(inflightG, inflight(), metric.WithAttributeSet(set))
		return nil
	}, depth, inflightG)
	if err != nil {
		return nil, err
	}
	inst.reg = reg
	return inst, nil
}

// timed reports whether task durations are being recorded.
func (inst *poolInstrumentation) timed(ctx context.Context) bool {
	return inst.duration.Enabled(ctx)
}

func (inst *poolInstrumentation) shutdown() error { return inst.reg.Unregister() }
