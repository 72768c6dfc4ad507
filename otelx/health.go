package otelx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// Status summarises [Health] in one word.
type Status string

const (
	// StatusHealthy means the last exports succeeded, no span was dropped
	// since the export before last, and no span has been open past the leak
	// threshold.
	StatusHealthy Status = "healthy"
	// StatusDegraded means telemetry is getting through but something is
	// wrong: one or two exports in a row failed, spans were dropped because
	// the queue was full since the export before last, or spans look leaked.
	StatusDegraded Status = "degraded"
	// StatusFailing means failingAfter or more exports in a row failed:
	// telemetry is not getting through.
	StatusFailing Status = "failing"
	// StatusDisabled means OTEL_SDK_DISABLED=true: the providers are no-ops.
	StatusDisabled Status = "disabled"
)

// failingAfter is how many consecutive failed exports make health failing.
const failingAfter = 3

// Health is a snapshot of how telemetry is getting out. Get it from
// [Telemetry.Health], or serve it as JSON with [Telemetry.HealthHandler].
type Health struct {
	Status  Status        `json:"status"`
	Reasons []string      `json:"reasons,omitempty"` // why Status is not healthy
	Traces  TraceHealth   `json:"traces"`
	Metrics ExporterStats `json:"metrics"`
	Spans   SpanHealth    `json:"spans"`
	// Sampler is the adaptive sampler's state, when it is the sampler.
	Sampler *sampler.Stats `json:"sampler,omitempty"`
	// Shutdown is true once [Telemetry.Shutdown] has been called; Status
	// then tells whether the final flush got through.
	Shutdown bool `json:"shutdown"`
	// Settings are the values in effect and where each came from.
	Settings []Setting `json:"settings"`
}

// ExporterStats is the state of one exporter.
type ExporterStats struct {
	Exporter            string    `json:"exporter"` // "otlp", "none" or "custom (T)"
	Endpoint            string    `json:"endpoint,omitempty"`
	Exports             int64     `json:"exports"`        // calls that succeeded
	FailedExports       int64     `json:"failed_exports"` // calls that returned an error
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastErrorTime       time.Time `json:"last_error_time,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
}

// TraceHealth is the span exporter's state and what happened to the spans
// handed to it.
type TraceHealth struct {
	ExporterStats
	SpansExported int64 `json:"spans_exported"`
	SpansFailed   int64 `json:"spans_failed"`  // in batches whose export failed
	SpansDropped  int64 `json:"spans_dropped"` // refused: the queue was full, or ended after Shutdown
	QueueLength   int   `json:"queue_length"`
	QueueCapacity int   `json:"queue_capacity"`
}

// SpanHealth counts spans as the application makes them.
type SpanHealth struct {
	Started int64 `json:"started"` // spans started, sampled or not
	Sampled int64 `json:"sampled"` // spans the sampler recorded and sampled
	// Open is the number of recording spans started and not yet ended. It
	// grows without bound when code forgets span.End.
	Open int64 `json:"open"`
	// OldestOpen lists the oldest open spans, oldest first (at most
	// maxOldest). Spans older than the leak threshold are likely leaked.
	OldestOpen []OpenSpan `json:"oldest_open,omitempty"`
	// Leaked counts the listed spans older than the leak threshold.
	Leaked int `json:"leaked"`
}

// OpenSpan is a span that was started and has not ended.
type OpenSpan struct {
	Name    string        `json:"name"`
	TraceID string        `json:"trace_id"`
	SpanID  string        `json:"span_id"`
	Start   time.Time     `json:"start"`
	Age     time.Duration `json:"-"`
}

// MarshalJSON writes Age as a duration string, such as "1m30s".
func (s OpenSpan) MarshalJSON() ([]byte, error) {
	type plain OpenSpan
	return json.Marshal(struct {
		plain
		Age string `json:"age"`
	}{plain(s), s.Age.Round(time.Millisecond).String()})
}

// HealthHandler serves [Telemetry.Health] as JSON: 200 OK unless the status
// is failing, 503 Service Unavailable then, so a probe can alert on it.
func (t *Telemetry) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := t.Health()
		body, err := json.MarshalIndent(h, "", "  ")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if h.Status == StatusFailing {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write(append(body, '\n'))
	})
}

// exportStats tracks the outcome of an exporter's calls. It is safe for
// concurrent use and must not be copied.
type exportStats struct {
	name     string // "otlp", "none" or "custom (T)"
	endpoint string
	now      func() time.Time
	secrets  *secretMask // hides configured secrets in export errors

	mu struct {
		sync.Mutex
		ExporterStats
		items, failedItems int64
	}
}

// record notes the outcome of one export of n items.
func (s *exportStats) record(n int, err error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.mu.FailedExports++
		s.mu.ConsecutiveFailures++
		s.mu.LastError = s.secrets.text(err.Error()) // already masked by the wrappers; cut here too
		s.mu.LastErrorTime = now
		s.mu.failedItems += int64(n)
		return
	}
	s.mu.Exports++
	s.mu.ConsecutiveFailures = 0
	s.mu.LastSuccess = now
	s.mu.items += int64(n)
}

func (s *exportStats) snapshot() (st ExporterStats, items, failedItems int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st = s.mu.ExporterStats
	st.Exporter, st.Endpoint = s.name, s.endpoint
	return st, s.mu.items, s.mu.failedItems
}

// spanExporter wraps the span exporter so that every export is recorded.
type spanExporter struct {
	sdktrace.SpanExporter
	stats *exportStats
}

func (e spanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	// The exporter may be the user's: a panic or a runtime.Goexit is a
	// failed export, and the export loop goes on.
	// Its error may quote the collector's reply, which may echo a header:
	// every error otelx keeps, returns or hands on is masked.
	err := e.stats.secrets.err(guarded(func() error { return e.SpanExporter.ExportSpans(ctx, spans) }))
	e.stats.record(len(spans), err)
	return err
}

// metricExporter wraps the metric exporter so that every export is
// recorded and its errors reach the error handler.
type metricExporter struct {
	sdkmetric.Exporter
	stats   *exportStats
	onError func(error)
}

func (e metricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	n := 0
	for _, sm := range rm.ScopeMetrics {
		n += len(sm.Metrics)
	}
	// The exporter may be the user's, called on the SDK's reader
	// goroutine: a panic or a runtime.Goexit is a failed export, and the
	// reader goes on.
	// Bounded by ctx: the reader's Shutdown waits for its loop, which is
	// here, so an exporter ignoring ctx would hang Telemetry.Shutdown.
	err := e.stats.secrets.err(guardedCtx(ctx, func() error { return e.Exporter.Export(ctx, rm) }))
	e.stats.record(n, err)
	if err != nil {
		handle(e.onError, err)
	}
	return err
}

// ForceFlush flushes the exporter; a panic or a Goexit in it is returned
// as an error, and ctx bounds the wait.
func (e metricExporter) ForceFlush(ctx context.Context) error {
	return guardedCtx(ctx, func() error { return e.Exporter.ForceFlush(ctx) })
}

// Shutdown shuts the exporter down; a panic or a Goexit in it is returned
// as an error, and ctx bounds the wait.
func (e metricExporter) Shutdown(ctx context.Context) error {
	return guardedCtx(ctx, func() error { return e.Exporter.Shutdown(ctx) })
}

// status derives the one-word status and its reasons.
func (h *Health) status(recentDrops int64, threshold time.Duration) {
	h.Status = StatusHealthy
	worse := func(s Status, reason string) {
		if s == StatusFailing || h.Status == StatusHealthy {
			h.Status = s
		}
		h.Reasons = append(h.Reasons, reason)
	}
	for _, e := range []struct {
		signal string
		st     ExporterStats
	}{{"traces", h.Traces.ExporterStats}, {"metrics", h.Metrics}} {
		switch n := e.st.ConsecutiveFailures; {
		case n >= failingAfter:
			worse(StatusFailing, fmt.Sprintf("%s: last %d exports failed: %s", e.signal, n, e.st.LastError))
		case n > 0:
			worse(StatusDegraded, fmt.Sprintf("%s: last %d export(s) failed: %s", e.signal, n, e.st.LastError))
		}
	}
	if recentDrops > 0 {
		worse(StatusDegraded, fmt.Sprintf("traces: %d spans dropped since the export before last because the export queue (%d) was full",
			recentDrops, h.Traces.QueueCapacity))
	}
	if h.Spans.Leaked > 0 {
		worse(StatusDegraded, fmt.Sprintf("spans: %d open longer than %v (oldest %q, %v): is span.End called on every path?",
			h.Spans.Leaked, threshold, h.Spans.OldestOpen[0].Name, h.Spans.OldestOpen[0].Age.Round(time.Millisecond)))
	}
}
