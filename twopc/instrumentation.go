package twopc

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/version"
	"github.com/otlpgo/otlpgo/panics"
)

const scopeName = "github.com/otlpgo/otlpgo/twopc"

// instrumentation is a coordinator's telemetry: a span per transaction
// with a child per prepare, commit and abort, and counters by outcome.
type instrumentation struct {
	tracer                      trace.Tracer
	started, committed, aborted metric.Int64Counter
}

func newInstrumentation(c *config) (*instrumentation, error) {
	meter := c.mp.Meter(scopeName, metric.WithInstrumentationVersion(version.Version))
	inst := &instrumentation{tracer: c.tp.Tracer(scopeName, trace.WithInstrumentationVersion(version.Version))}
	var e [3]error
	inst.started, e[0] = meter.Int64Counter("twopc.started", metric.WithUnit("{transaction}"), metric.WithDescription("Transactions started."))
	inst.committed, e[1] = meter.Int64Counter("twopc.committed", metric.WithUnit("{transaction}"), metric.WithDescription("Transactions committed on every participant."))
	inst.aborted, e[2] = meter.Int64Counter("twopc.aborted", metric.WithUnit("{transaction}"), metric.WithDescription("Transactions rolled back on every participant."))
	return inst, errors.Join(e[:]...)
}

// quietly runs a telemetry call made after a transaction has started
// (ending its span, counting its outcome) under panics and drops a
// panic: a TracerProvider or MeterProvider is the user's code, and its
// bug must not change an outcome already decided, nor escape Run.
func quietly(f func()) { _ = panics.Try(func() error { f(); return nil }) }

// recordErr records err on span, quietly.
func recordErr(span trace.Span, err error) { quietly(func() { errs.Record(span, err) }) }
