package otelx

import (
	"context"
	"time"
)

// Redact is redact, for tests.
var Redact = redact

// Prepared is what Setup would build from, for tests.
type Prepared struct {
	Disabled                     bool
	Settings                     []Setting
	TracesURL, MetricsURL        string
	BatchTimeout, ExportTimeout  time.Duration
	MetricInterval, MetricExport time.Duration
	MaxQueueSize, MaxBatchSize   int
	Sampler                      string
}

// Prepare runs the checks Setup runs on opts and the environment, and
// builds nothing that runs or dials.
func Prepare(ctx context.Context, opts ...Option) (*Prepared, error) {
	cfg := newConfig(opts)
	p, err := prepare(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	out := &Prepared{Disabled: p.disabled, Settings: p.settings}
	if r := p.resolved; r != nil {
		out.TracesURL, out.MetricsURL = r.tracesURL, r.metricsURL
		out.BatchTimeout, out.ExportTimeout = r.batchTimeout, r.exportTimeout
		out.MetricInterval, out.MetricExport = r.metricInterval, r.metricTimeout
		out.MaxQueueSize, out.MaxBatchSize = r.maxQueueSize, r.maxBatchSize
		out.Sampler = r.sampler.Description()
	}
	return out, nil
}
