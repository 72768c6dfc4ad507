package otelx_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/otelx"
	"github.com/otlpgo/otlpgo/panics"
)

// goexitExporter calls runtime.Goexit in its first span and metric
// exports, and succeeds after.
type goexitExporter struct {
	memMetrics
	spanCalls, metricCalls atomic.Int32
	spans                  atomic.Int32
}

func (e *goexitExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	if e.spanCalls.Add(1) == 1 {
		runtime.Goexit()
	}
	e.spans.Add(int32(len(s)))
	return nil
}

func (e *goexitExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if e.metricCalls.Add(1) == 1 {
		runtime.Goexit()
	}
	return e.memMetrics.Export(ctx, rm)
}

func (*goexitExporter) Shutdown(context.Context) error { return nil }

// boundedCtx bounds a call that used to hang, so that the test fails
// instead of hanging the binary.
func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGoexitInExporterIsAFailedExport checks that a user's span or metric
// exporter, or error handler, calling runtime.Goexit on otelx's goroutines
// fails that export with panics.ErrGoexit, visible in Health, and that
// later exports, ForceFlush and Shutdown work. It used to end the batch
// goroutine: spans were lost, ForceFlush hung or returned nil, and health
// stayed healthy.
func TestGoexitInExporterIsAFailedExport(t *testing.T) {
	prev := otel.GetErrorHandler()
	var globalErrs []error
	var mu sync.Mutex
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); globalErrs = append(globalErrs, err); mu.Unlock() }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	exp := &goexitExporter{}
	var handlerCalls atomic.Int32
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false),
		otelx.WithSpanExporter(exp), otelx.WithMetricExporter(exp),
		otelx.WithSampler(sdktrace.AlwaysSample()),
		otelx.WithErrorHandler(func(error) {
			if handlerCalls.Add(1) == 1 {
				runtime.Goexit()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	tracer := tel.TracerProvider().Tracer("t")
	counter, _ := tel.MeterProvider().Meter("t").Int64Counter("c")
	counter.Add(context.Background(), 1)
	_, span := tracer.Start(context.Background(), "first")
	span.End()
	err = tel.ForceFlush(boundedCtx(t))
	if !errors.Is(err, panics.ErrGoexit) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ForceFlush = %v, want an error wrapping panics.ErrGoexit", err)
	}
	h := tel.Health()
	if h.Status == otelx.StatusHealthy || h.Traces.SpansFailed != 1 || h.Traces.FailedExports != 1 ||
		!strings.Contains(h.Traces.LastError, "Goexit") || h.Metrics.FailedExports != 1 || !strings.Contains(h.Metrics.LastError, "Goexit") {
		t.Fatalf("health after a Goexit: status %s traces %+v metrics %+v", h.Status, h.Traces, h.Metrics)
	}

	// The processor goes on: later spans and metrics export.
	for range 3 {
		_, span := tracer.Start(context.Background(), "later")
		span.End()
	}
	if err := tel.ForceFlush(boundedCtx(t)); err != nil {
		t.Fatalf("ForceFlush after the Goexit: %v", err)
	}
	h = tel.Health()
	if h.Status != otelx.StatusHealthy || h.Traces.SpansExported != 3 || exp.spans.Load() != 3 || h.Metrics.Exports == 0 {
		t.Fatalf("health after recovery: status %s %v traces %+v metrics %+v", h.Status, h.Reasons, h.Traces, h.Metrics)
	}
	if err := tel.Shutdown(boundedCtx(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkInvariants(t, tel.Health(), true)
	mu.Lock()
	defer mu.Unlock()
	if !slicesContainsErr(globalErrs, panics.ErrGoexit) {
		t.Errorf("the error handler's Goexit did not reach otel.Handle: %v", globalErrs)
	}
}

func slicesContainsErr(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// stubbornExporter ignores its context: an export blocks until release is
// closed.
type stubbornExporter struct {
	release  chan struct{}
	started  chan struct{} // closed when the first export starts
	once     sync.Once
	shutdown chan struct{} // closed by Shutdown
}

func (e *stubbornExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	e.once.Do(func() { close(e.started) })
	<-e.release
	return nil
}

func (e *stubbornExporter) Shutdown(context.Context) error { close(e.shutdown); return nil }

// TestShutdownHonoursContextWhenExporterIgnoresIt checks that Shutdown and
// ForceFlush return ctx's error once ctx ends even though the exporter
// ignores its context, and that the export goroutine then ends, after
// shutting the exporter down, once the exporter returns (goleak in
// TestMain). Shutdown used to wait for the exporter forever.
func TestShutdownHonoursContextWhenExporterIgnoresIt(t *testing.T) {
	exp := &stubbornExporter{release: make(chan struct{}), started: make(chan struct{}), shutdown: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(exp.release) }) }
	t.Cleanup(release)
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithSpanExporter(exp),
		otelx.WithMetricExporter(&memMetrics{}), otelx.WithSampler(sdktrace.AlwaysSample()),
		otelx.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "stuck")
	span.End()

	flushCtx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tel.ForceFlush(flushCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ForceFlush = %v, want context.DeadlineExceeded", err)
	}
	<-exp.started

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tel.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return 10s after its context ended")
	}
	select {
	case <-exp.shutdown:
		t.Fatal("the exporter was shut down while an export was in flight")
	default:
	}
	release()
	select {
	case <-exp.shutdown:
	case <-time.After(10 * time.Second):
		t.Fatal("the exporter was not shut down once its export returned")
	}
}

// stubbornMetrics is a metric exporter whose exports ignore their context:
// each blocks until release is closed.
type stubbornMetrics struct {
	memMetrics
	release chan struct{}
}

func (e *stubbornMetrics) Export(context.Context, *metricdata.ResourceMetrics) error {
	<-e.release
	return nil
}

// TestShutdownHonoursContextWhenMetricExporterIgnoresIt checks that
// ForceFlush and Shutdown return ctx's error once ctx ends although the
// user's metric exporter ignores it. Shutdown used to wait forever: the
// SDK's reader waits for its loop, stuck in the exporter.
func TestShutdownHonoursContextWhenMetricExporterIgnoresIt(t *testing.T) {
	exp := &stubbornMetrics{release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(exp.release) }) }
	t.Cleanup(release)
	tel, err := otelx.Setup(context.Background(), otelx.WithGlobal(false), otelx.WithSpanExporter(&failingExporter{}),
		otelx.WithMetricExporter(exp), otelx.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	counter, _ := tel.MeterProvider().Meter("t").Int64Counter("c")
	counter.Add(context.Background(), 1)
	for _, call := range []struct {
		name string
		fn   func(context.Context) error
	}{{"ForceFlush", tel.ForceFlush}, {"Shutdown", tel.Shutdown}} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- call.fn(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s = %v, want context.DeadlineExceeded", call.name, err)
			}
		case <-time.After(10 * time.Second):
			cancel()
			t.Fatalf("%s did not return 10s after its context ended", call.name)
		}
		cancel()
	}
	if h := tel.Health(); h.Metrics.FailedExports == 0 {
		t.Errorf("abandoned metric exports not counted as failed: %+v", h.Metrics)
	}
}
