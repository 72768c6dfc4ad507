package sampler_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/sampler"
)

// captureErrors collects what otel.Handle reports until the test ends.
func captureErrors(t *testing.T) func() []error {
	t.Helper()
	var mu sync.Mutex
	var got []error
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); got = append(got, err); mu.Unlock() }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), got...)
	}
}

// count returns how many of errs are target.
func count(errs []error, target error) int {
	n := 0
	for _, err := range errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// ticked builds an Adaptive whose goroutine is driven by tick, which
// advances the fake clock by d and waits for the adjustment.
func ticked(t *testing.T, opts ...sampler.Option) (a *sampler.Adaptive, clk *fakeClock, tick func(d time.Duration)) {
	t.Helper()
	clk = &fakeClock{t: time.Unix(1e9, 0)}
	ticks, done := make(chan time.Time), make(chan struct{})
	a = sampler.NewAdaptive(append([]sampler.Option{sampler.WithTicks(clk.now, ticks, done)}, opts...)...)
	sampler.Start(a)
	t.Cleanup(func() {
		if err := a.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return a, clk, func(d time.Duration) {
		clk.t = clk.t.Add(d)
		ticks <- clk.t
		<-done
	}
}

func TestNotRegisteredAsProcessorIsReportedOnce(t *testing.T) {
	errs := captureErrors(t)
	a, _, tick := ticked(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a)) // no WithSpanProcessor(a)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for range 5 {
		for range 10 {
			_, s := tp.Tracer("t").Start(context.Background(), "op")
			s.End()
		}
		tick(time.Second)
	}
	if n := count(errs(), sampler.ErrNotProcessor); n != 1 {
		t.Errorf("ErrNotProcessor reported %d times, want once: %v", n, errs())
	}
}

func TestRegisteredSamplerReportsNothing(t *testing.T) {
	errs := captureErrors(t)
	a, _, tick := ticked(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for range 5 {
		for range 10 {
			ctx, s := tp.Tracer("t").Start(context.Background(), "op")
			_, c := tp.Tracer("t").Start(ctx, "child")
			c.End()
			s.End()
		}
		tick(time.Second)
	}
	if got := errs(); len(got) != 0 {
		t.Errorf("installed as documented, it reported %v", got)
	}
}

func TestWrappedSamplerIsReportedOnce(t *testing.T) {
	errs := captureErrors(t)
	a, _, tick := ticked(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(a)), sdktrace.WithSpanProcessor(a))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for range 3 {
		for range 10 {
			ctx, s := tp.Tracer("t").Start(context.Background(), "op")
			_, c := tp.Tracer("t").Start(ctx, "child")
			c.End()
			s.End()
		}
		tick(time.Second)
	}
	if n := count(errs(), sampler.ErrWrapped); n != 1 {
		t.Errorf("ErrWrapped reported %d times, want once: %v", n, errs())
	}
}

func TestShutdownStopsTheGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := sampler.NewAdaptive(sampler.WithInterval(time.Millisecond))
	root(a, traceID(1, 1)) // the first decision starts it
	for range 2 {          // twice: Shutdown is idempotent
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// It keeps deciding after Shutdown, and starts nothing.
	if res := root(a, traceID(1, 1<<56-1)); res.Decision != sdktrace.RecordAndSample {
		t.Errorf("after Shutdown: %v, want still deciding", res.Decision)
	}
}

func TestShutdownBeforeFirstUseStartsNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := sampler.NewAdaptive()
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	root(a, traceID(1, 1))
}

// TestDroppedSamplerStopsItsGoroutine drops a started Adaptive without
// Shutdown: the goroutine holds it weakly, so collection stops it.
func TestDroppedSamplerStopsItsGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	func() {
		a := sampler.NewAdaptive(sampler.WithInterval(time.Hour)) // no tick comes: only the cleanup can stop it
		root(a, traceID(1, 1))
	}()
	for range 5 {
		runtime.GC()
		runtime.Gosched() // lets the cleanup run; goleak retries regardless
	}
}

func TestShutdownHonoursContext(t *testing.T) {
	a, _, _ := ticked(t)
	root(a, traceID(1, 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The goroutine is idle: it stops at once, so even a cancelled
	// context sees it stop or reports the cancellation; never a hang.
	if err := a.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a cancelled context: %v", err)
	}
}

// TestFirstSampledSpanAfterIdleIntervalsReportsNothing: the first span
// sampled after idle adjustments may itself trigger one, inside
// ShouldSample and before its OnStart; that is not a missing processor.
func TestFirstSampledSpanAfterIdleIntervalsReportsNothing(t *testing.T) {
	errs := captureErrors(t)
	now := time.Unix(1e9, 0)
	a := sampler.NewAdaptive(sampler.WithClock(func() time.Time { return now }))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(a), sdktrace.WithSpanProcessor(a))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	for range 2 {
		now = now.Add(time.Second)
		_ = a.Stats()
	}
	now = now.Add(time.Second)
	_, s := tp.Tracer("t").Start(context.Background(), "first")
	s.End()
	now = now.Add(time.Second)
	_ = a.Stats()
	if n := count(errs(), sampler.ErrNotProcessor); n != 0 {
		t.Errorf("a registered sampler reported ErrNotProcessor: %v", errs())
	}
}
