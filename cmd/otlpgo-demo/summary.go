package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"text/tabwriter"

	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// summaryExporter is the demo's embedded default when no collector is
// named: a span and metric exporter that exports nothing and remembers
// what it would have sent. It is safe for concurrent use.
type summaryExporter struct {
	mu      sync.Mutex
	spans   map[string]*spanSummary // by span name
	traces  map[trace.TraceID]struct{}
	metrics map[string]int // data points in the last export, by metric name
	exports int
}

type spanSummary struct {
	count, errors int
}

func newSummaryExporter() *summaryExporter {
	return &summaryExporter{
		spans:   map[string]*spanSummary{},
		traces:  map[trace.TraceID]struct{}{},
		metrics: map[string]int{},
	}
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *summaryExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		sum := e.spans[s.Name()]
		if sum == nil {
			sum = &spanSummary{}
			e.spans[s.Name()] = sum
		}
		sum.count++
		if s.Status().Code == codes.Error {
			sum.errors++
		}
		e.traces[s.SpanContext().TraceID()] = struct{}{}
	}
	return nil
}

// Temporality implements sdkmetric.Exporter.
func (*summaryExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

// Aggregation implements sdkmetric.Exporter.
func (*summaryExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export implements sdkmetric.Exporter.
func (e *summaryExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.exports++
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			e.metrics[m.Name] = points(m.Data)
		}
	}
	return nil
}

func points(d metricdata.Aggregation) int {
	switch d := d.(type) {
	case metricdata.Sum[int64]:
		n := 0
		for _, p := range d.DataPoints {
			n += int(p.Value)
		}
		return n
	case metricdata.Histogram[float64]:
		n := 0
		for _, p := range d.DataPoints {
			n += int(p.Count)
		}
		return n
	}
	return 0
}

// ForceFlush implements both exporter interfaces.
func (*summaryExporter) ForceFlush(context.Context) error { return nil }

// Shutdown implements both exporter interfaces.
func (*summaryExporter) Shutdown(context.Context) error { return nil }

func (e *summaryExporter) print(out io.Writer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(out, "\nwhat would have been exported (set OTEL_EXPORTER_OTLP_ENDPOINT to send it)\n")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "span name\tspans\terrors\t\n")
	for _, name := range slices.Sorted(maps.Keys(e.spans)) {
		s := e.spans[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", name, s.count, s.errors)
	}
	fmt.Fprintf(tw, "(traces)\t%d\t\t\n", len(e.traces))
	tw.Flush()
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric (cumulative)\tcount\t\n")
	for _, name := range slices.Sorted(maps.Keys(e.metrics)) {
		fmt.Fprintf(tw, "%s\t%d\t\n", name, e.metrics[name])
	}
	fmt.Fprintf(tw, "(metric exports)\t%d\t\n", e.exports)
	tw.Flush()
}
