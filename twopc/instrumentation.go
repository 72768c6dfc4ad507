package twopc

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/internal/version"
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
