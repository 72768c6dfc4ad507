package saga

import (
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/internal/version"
)

const scopeName = "github.com/otlpgo/otlpgo/saga"

// instrumentation is a coordinator's telemetry: a span per saga with a
// child per step and compensation, and counters of sagas by outcome.
type instrumentation struct {
	tracer                                 trace.Tracer
	started, completed, compensated, stuck metric.Int64Counter
	opts                                   sync.Map // definition name → []metric.AddOption
}

func newInstrumentation(c *config) (*instrumentation, error) {
	meter := c.mp.Meter(scopeName, metric.WithInstrumentationVersion(version.Version))
	inst := &instrumentation{tracer: c.tp.Tracer(scopeName, trace.WithInstrumentationVersion(version.Version))}
	var e [4]error
	inst.started, e[0] = meter.Int64Counter("saga.started", metric.WithUnit("{saga}"), metric.WithDescription("Sagas started."))
	inst.completed, e[1] = meter.Int64Counter("saga.completed", metric.WithUnit("{saga}"), metric.WithDescription("Sagas whose every step succeeded."))
	inst.compensated, e[2] = meter.Int64Counter("saga.compensated", metric.WithUnit("{saga}"), metric.WithDescription("Sagas undone after a step failed."))
	inst.stuck, e[3] = meter.Int64Counter("saga.stuck", metric.WithUnit("{saga}"), metric.WithDescription("Sagas whose compensation kept failing: they need attention."))
	return inst, errors.Join(e[:]...)
}

// defOpts returns the counters' options for a definition, built once.
func (inst *instrumentation) defOpts(def string) []metric.AddOption {
	if v, ok := inst.opts.Load(def); ok {
		return v.([]metric.AddOption)
	}
	o := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("saga.name", def)))}
	inst.opts.Store(def, o)
	return o
}
