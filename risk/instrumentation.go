package risk

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/internal/version"
)

const scopeName = "github.com/otlpgo/otlpgo/risk"

// instrumentation is the engine's telemetry. An allowed check records
// nothing; a rejection adds an event to the caller's span and one to the
// rejections counter.
type instrumentation struct {
	tracer     trace.Tracer
	rejections metric.Int64Counter
}

func newInstrumentation(c config) (*instrumentation, error) {
	meter := c.mp.Meter(scopeName, metric.WithInstrumentationVersion(version.Version))
	rejections, err := meter.Int64Counter("risk.rejections", metric.WithUnit("{order}"),
		metric.WithDescription("Orders rejected by pre-trade risk checks, by rule and reason."))
	if err != nil {
		return nil, err
	}
	return &instrumentation{
		tracer:     c.tp.Tracer(scopeName, trace.WithInstrumentationVersion(version.Version)),
		rejections: rejections,
	}, nil
}

func (inst *instrumentation) rejected(ctx context.Context, o *Order, d Decision) {
	attrs := []attribute.KeyValue{
		attribute.String("risk.rule", d.Rule),
		attribute.String("risk.reason", d.Reason.String()),
	}
	inst.rejections.Add(ctx, 1, metric.WithAttributes(attrs...))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("risk.rejected", trace.WithAttributes(append(attrs,
			attribute.String("risk.message", d.Message),
			attribute.String("risk.account", o.Account),
			attribute.Int64("risk.order.id", int64(o.ID)))...))
	}
}

// startCheck starts a check span (WithCheckSpans) and returns the
// function that ends it.
func (inst *instrumentation) startCheck(ctx context.Context, o *Order) (context.Context, func()) {
	ctx, span := inst.tracer.Start(ctx, "risk.check", trace.WithAttributes(
		attribute.String("risk.account", o.Account), attribute.String("risk.instrument", o.Instrument)))
	return ctx, func() { span.End() }
}
