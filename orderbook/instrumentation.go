package orderbook

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/internal/version"
)

const scopeName = "github.com/otlpgo/otlpgo/orderbook"

// instrumentation is the engine's telemetry: one span per batch, and
// counters recorded once per batch from counts the matching goroutine
// keeps, so that a command costs no telemetry call of its own.
type instrumentation struct {
	tracer   trace.Tracer
	commands metric.Int64Counter
	fills    metric.Int64Counter
	rejects  metric.Int64Counter
	depth    metric.Registration

	opOpts     [OpModify + 1][]metric.AddOption
	reasonOpts [maxReason + 1][]metric.AddOption
}

// batchCounts is what one batch did, for its span and the counters.
type batchCounts struct {
	ops     [OpModify + 1]int64
	fills   int64
	rejects [maxReason + 1]int64
}

func newInstrumentation(cfg *config, queueLen func() int) (*instrumentation, error) {
	opts := []metric.MeterOption{metric.WithInstrumentationVersion(version.Version)}
	meter := cfg.mp.Meter(scopeName, opts...)
	inst := &instrumentation{
		tracer: cfg.tp.Tracer(scopeName, trace.WithInstrumentationVersion(version.Version)),
	}
	var errs [4]error
	inst.commands, errs[0] = meter.Int64Counter("orderbook.commands",
		metric.WithUnit("{command}"), metric.WithDescription("Commands matched, by op (orders are op=submit)."))
	inst.fills, errs[1] = meter.Int64Counter("orderbook.fills",
		metric.WithUnit("{fill}"), metric.WithDescription("Fills: a taker traded with one resting order."))
	inst.rejects, errs[2] = meter.Int64Counter("orderbook.rejects",
		metric.WithUnit("{command}"), metric.WithDescription("Commands rejected, by reason."))
	depth, err := meter.Int64ObservableGauge("orderbook.queue.depth",
		metric.WithUnit("{command}"), metric.WithDescription("Commands waiting for the matching goroutine."))
	errs[3] = err
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	inst.depth, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(depth, int64(queueLen()))
		return nil
	}, depth)
	if err != nil {
		return nil, err
	}
	for op := OpSubmit; op <= OpModify; op++ {
		inst.opOpts[op] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("orderbook.op", op.String())))}
	}
	for r := ReasonCancelRequested; r <= maxReason; r++ {
		inst.reasonOpts[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("orderbook.reason", r.String())))}
	}
	return inst, nil
}

// record adds a batch's counts to the counters and its span.
func (inst *instrumentation) record(ctx context.Context, span trace.Span, c *batchCounts, firstSeq uint64, n int) {
	var rejects int64
	for op, k := range c.ops {
		if k > 0 {
			inst.commands.Add(ctx, k, inst.opOpts[op]...)
		}
	}
	if c.fills > 0 {
		inst.fills.Add(ctx, c.fills)
	}
	for r, k := range c.rejects {
		if k > 0 {
			inst.rejects.Add(ctx, k, inst.reasonOpts[r]...)
			rejects += k
		}
	}
	if span.IsRecording() {
		span.SetAttributes(
			attribute.Int("orderbook.batch.commands", n),
			attribute.Int64("orderbook.batch.first_seq", int64(firstSeq)),
			attribute.Int64("orderbook.batch.fills", c.fills),
			attribute.Int64("orderbook.batch.rejects", rejects),
		)
	}
}

func (inst *instrumentation) shutdown() error {
	return inst.depth.Unregister()
}
