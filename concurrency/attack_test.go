package concurrency_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/internal/hangcheck"

	"go.opentelemetry.io/otel/metric"
	mnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/panics"
)

// TestCallbackGoexitFailsTheCall makes each user callback that runs on a
// goroutine this package started call runtime.Goexit (t.FailNow in a
// fake), and requires the owning call to return promptly with an error
// matching panics.ErrGoexit, with nothing else lost: every other task
// runs, the pool keeps its workers, Shutdown returns, no goroutine is
// left. Before, Run and RunPipeline hung, Submit'ted tasks queued behind
// the Goexit never ran, and a 4-worker pipeline returned nil with a
// value missing.
func TestCallbackGoexitFailsTheCall(t *testing.T) {
	ctx := context.Background()
	goexitAt := func(at int) func(context.Context, int) (int, error) {
		return func(_ context.Context, x int) (int, error) {
			if x == at {
				runtime.Goexit()
			}
			return 2 * x, nil
		}
	}
	inputs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, tt := range []struct {
		name string
		run  func(t *testing.T) error // returns the error that must match ErrGoexit
	}{
		{"pool Run fn, 1 worker", func(t *testing.T) error {
			p := newPool(t, 1, goexitAt(3))
			_, err := p.Run(ctx, inputs)
			var te *concurrency.TaskError
			if !errors.As(err, &te) || te.Index != 3 {
				t.Errorf("Run = %v, want a *TaskError for input 3", err)
			}
			out, err2 := p.Run(ctx, []int{1, 2}) // the pool still has its worker
			if err2 != nil || !slices.Equal(out, []int{2, 4}) {
				t.Errorf("Run after = %v, %v", out, err2)
			}
			return err
		}},
		{"pool Run fn, 4 workers, collect all", func(t *testing.T) error {
			p := newPool(t, 4, goexitAt(3), concurrency.WithCollectAll(true))
			out, err := p.Run(ctx, inputs)
			for i, v := range out {
				if i != 3 && v != 2*i {
					t.Errorf("output %d = %d, want %d", i, v, 2*i)
				}
			}
			return err
		}},
		{"pool Submit fn, 1 worker, tasks queued behind", func(t *testing.T) error {
			p := newPool(t, 1, goexitAt(0), concurrency.WithQueueSize(16))
			var mu sync.Mutex
			results := map[int]error{}
			var wg sync.WaitGroup
			for _, in := range inputs {
				wg.Add(1)
				if err := p.Submit(ctx, in, func(_ int, err error) {
					mu.Lock()
					results[in] = err
					mu.Unlock()
					wg.Done()
				}); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if len(results) != len(inputs) {
				t.Fatalf("%d of %d Submit callbacks ran", len(results), len(inputs))
			}
			return results[0]
		}},
		{"pool Submit callback", func(t *testing.T) error {
			handled := make(chan error, 1)
			p := newPool(t, 1, goexitAt(-1), concurrency.WithErrorHandler(func(err error) { handled <- err }))
			if err := p.Submit(ctx, 1, func(int, error) { runtime.Goexit() }); err != nil {
				t.Fatal(err)
			}
			err := <-handled
			if out, err := p.Run(ctx, []int{1}); err != nil || out[0] != 2 {
				t.Errorf("Run after = %v, %v", out, err)
			}
			return err
		}},
		{"pool error handler", func(t *testing.T) error {
			var calls atomic.Int32
			p := newPool(t, 1, goexitAt(-1), concurrency.WithErrorHandler(func(error) { calls.Add(1); runtime.Goexit() }))
			if err := p.Submit(ctx, 1, func(int, error) { panic("callback") }); err != nil {
				t.Fatal(err)
			}
			out, err := p.Run(ctx, []int{1, 2})
			if err != nil || !slices.Equal(out, []int{2, 4}) || calls.Load() != 1 {
				t.Errorf("Run after a Goexit in the handler = %v, %v; handler called %d times", out, err, calls.Load())
			}
			return panics.ErrGoexit // nobody is left to tell: the check is that nothing hangs
		}},
		{"pipeline stage, 1 worker", func(t *testing.T) error {
			return concurrency.RunPipeline(ctx, slices.Values(inputs), mustStage(t, "s", 1, goexitAt(3)), func(context.Context, int) error { return nil })
		}},
		{"pipeline stage, 4 workers", func(t *testing.T) error {
			return concurrency.RunPipeline(ctx, slices.Values(inputs), mustStage(t, "s", 4, goexitAt(3)), func(context.Context, int) error { return nil })
		}},
		{"pipeline source", func(t *testing.T) error {
			src := func(yield func(int) bool) {
				yield(1)
				runtime.Goexit()
			}
			return concurrency.RunPipeline(ctx, src, mustStage(t, "s", 2, goexitAt(-1)), func(context.Context, int) error { return nil })
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			current := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, current) })
			err := hangcheck.Within(t, 10*time.Second, tt.name, func() error { return tt.run(t) })
			if !errors.Is(err, panics.ErrGoexit) {
				t.Fatalf("err = %v, want panics.ErrGoexit", err)
			}
		})
	}
}

// TestSizesOutOfRange gives every size and count parameter of the
// package a value out of its range, and requires a typed error, never a
// panic (before: ringbuffer's, makechan's, makeslice's, or an overflow
// of 64*workers) and never a silent substitute (before: FanOut(0) gave
// one output, NewTracedChannel(-1) an unbuffered channel).
func TestSizesOutOfRange(t *testing.T) {
	ctx := context.Background()
	fn := func(_ context.Context, x int) (int, error) { return x, nil }
	pool := func(workers int, opts ...concurrency.Option) func() error {
		return func() error { _, err := concurrency.NewWorkerPool(workers, fn, opts...); return err }
	}
	for _, tt := range []struct {
		name string
		call func() error
		want error
	}{
		{"NewWorkerPool 0", pool(0), concurrency.ErrInvalidWorkers},
		{"NewWorkerPool -1", pool(-1), concurrency.ErrInvalidWorkers},
		{"NewWorkerPool 20M", pool(20_000_000), concurrency.ErrInvalidWorkers},
		{"NewWorkerPool MaxInt", pool(math.MaxInt), concurrency.ErrInvalidWorkers},
		{"WithQueueSize 1<<31", pool(1, concurrency.WithQueueSize(1<<31)), concurrency.ErrInvalidSize},
		{"WithQueueSize MaxInt", pool(1, concurrency.WithQueueSize(math.MaxInt)), concurrency.ErrInvalidSize},
		{"WithQueueSize -1", pool(1, concurrency.WithQueueSize(-1)), concurrency.ErrInvalidSize},
		{"NewStage 0", func() error { _, err := concurrency.NewStage("x", 0, fn); return err }, concurrency.ErrInvalidWorkers},
		{"NewStage MaxInt", func() error { _, err := concurrency.NewStage("x", math.MaxInt, fn); return err }, concurrency.ErrInvalidWorkers},
		{"NewTracedChannel -1", func() error { _, err := concurrency.NewTracedChannel[int](-1); return err }, concurrency.ErrInvalidSize},
		{"NewTracedChannel MaxInt", func() error { _, err := concurrency.NewTracedChannel[int](math.MaxInt); return err }, concurrency.ErrInvalidSize},
		{"FanOut 0", func() error { _, err := concurrency.FanOut(ctx, make(chan int), 0); return err }, concurrency.ErrInvalidSize},
		{"FanOut -1", func() error { _, err := concurrency.FanOut(ctx, make(chan int), -1); return err }, concurrency.ErrInvalidSize},
		{"FanOut MaxInt", func() error { _, err := concurrency.FanOut(ctx, make(chan int), math.MaxInt); return err }, concurrency.ErrInvalidSize},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := panics.Try(tt.call); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A large pool within range gets a default queue (64 per worker)
	// computed without overflow.
	p, err := concurrency.NewWorkerPool(1<<12, fn)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNilFuncIsTypedError: a nil function is rejected at construction.
func TestNilFuncIsTypedError(t *testing.T) {
	if _, err := concurrency.NewWorkerPool[int, int](1, nil); !errors.Is(err, concurrency.ErrNilFunc) {
		t.Errorf("NewWorkerPool(nil fn) = %v", err)
	}
	if _, err := concurrency.NewStage[int, int]("x", 1, nil); !errors.Is(err, concurrency.ErrNilFunc) {
		t.Errorf("NewStage(nil fn) = %v", err)
	}
}

// TestThenWithZeroStage: Then over a zero Stage (as NewStage returns with
// an error), on either side, is a zero Stage, and RunPipeline returns
// ErrInvalidStage for it; before, it panicked with a nil pointer.
func TestThenWithZeroStage(t *testing.T) {
	good := mustStage(t, "good", 1, func(_ context.Context, x int) (int, error) { return x, nil })
	bad, err := concurrency.NewStage("bad", 0, func(_ context.Context, x int) (int, error) { return x, nil })
	if err == nil {
		t.Fatal("NewStage with 0 workers succeeded")
	}
	sink := func(context.Context, int) error { return nil }
	for name, st := range map[string]concurrency.Stage[int, int]{
		"bad, good":         concurrency.Then(bad, good),
		"good, bad":         concurrency.Then(good, bad),
		"(bad, good), good": concurrency.Then(concurrency.Then(bad, good), good),
		"good, (good, bad)": concurrency.Then(good, concurrency.Then(good, bad)),
	} {
		err := panics.Try(func() error { return concurrency.RunPipeline(context.Background(), slices.Values([]int{1}), st, sink) })
		if !errors.Is(err, concurrency.ErrInvalidStage) {
			t.Errorf("Then(%s): RunPipeline = %v, want ErrInvalidStage", name, err)
		}
	}
}

// TestNilContextPanicsOnCallersGoroutine: every function of the package
// that takes a ctx panics with a "concurrency:" message on the caller's
// goroutine for a nil one, as context.WithCancel(nil) does. Before,
// FanOut and FanIn crashed the process from their own goroutines.
func TestNilContextPanicsOnCallersGoroutine(t *testing.T) {
	var nilCtx context.Context
	fn := func(_ context.Context, x int) (int, error) { return x, nil }
	p := newPool(t, 1, fn)
	c := must(concurrency.NewTracedChannel[int](1))
	for name, call := range map[string]func(){
		"FanOut":      func() { _, _ = concurrency.FanOut(nilCtx, make(chan int), 1) },
		"FanIn":       func() { concurrency.FanIn(nilCtx, make(chan int)) },
		"RunPipeline": func() { _ = concurrency.RunPipeline(nilCtx, slices.Values([]int{1}), mustStage(t, "s", 1, fn), nil) },
		"Run":         func() { _, _ = p.Run(nilCtx, []int{1}) },
		"Submit":      func() { _ = p.Submit(nilCtx, 1, nil) },
		"Shutdown":    func() { _ = p.Shutdown(nilCtx) },
		"Send":        func() { _ = c.Send(nilCtx, 1) },
		"Receive":     func() { _, _, _ = c.Receive(nilCtx) },
	} {
		err := panics.Try(func() error { call(); return nil })
		var pe *panics.Error
		if !errors.As(err, &pe) || pe.Value != "concurrency: nil Context" {
			t.Errorf("%s(nil ctx) = %v, want a panic \"concurrency: nil Context\"", name, err)
		}
	}
}

// panicProvider panics in Tracer or Meter, as a broken provider (the
// user's code) might.
type panicProvider struct {
	panicTracer
	mnoop.MeterProvider
	in string // "Tracer" or "Meter"
}

func (p panicProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if p.in == "Tracer" {
		panic("Tracer")
	}
	return p.panicTracer.Tracer(name, opts...)
}

func (p panicProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	if p.in == "Meter" {
		panic("Meter")
	}
	return mnoop.Meter{}
}

// TestPanickingProviders: a TracerProvider or MeterProvider that panics
// in a constructor or at the start of a run's (or a send's) span is that
// call's error, a *panics.Error, instead of escaping to the caller.
func TestPanickingProviders(t *testing.T) {
	ctx := context.Background()
	fn := func(_ context.Context, x int) (int, error) { return x, nil }
	sink := func(context.Context, int) error { return nil }
	for _, tt := range []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"NewWorkerPool Meter", func(t *testing.T) error {
			_, err := concurrency.NewWorkerPool(1, fn, concurrency.WithMeterProvider(panicProvider{in: "Meter"}))
			return err
		}},
		{"NewWorkerPool Tracer", func(t *testing.T) error {
			_, err := concurrency.NewWorkerPool(1, fn, concurrency.WithTracerProvider(panicProvider{in: "Tracer"}))
			return err
		}},
		{"NewTracedChannel Tracer", func(t *testing.T) error {
			_, err := concurrency.NewTracedChannel[int](1, concurrency.WithTracerProvider(panicProvider{in: "Tracer"}))
			return err
		}},
		{"WorkerPool.Run span", func(t *testing.T) error {
			p := newPool(t, 1, fn, concurrency.WithTracerProvider(panicTracer{name: "concurrency.pool.run"}))
			_, err := p.Run(ctx, []int{1})
			return err
		}},
		{"RunPipeline Tracer", func(t *testing.T) error {
			return concurrency.RunPipeline(ctx, slices.Values([]int{1}), mustStage(t, "s", 1, fn), sink,
				concurrency.WithTracerProvider(panicProvider{in: "Tracer"}))
		}},
		{"RunPipeline span", func(t *testing.T) error {
			return concurrency.RunPipeline(ctx, slices.Values([]int{1}), mustStage(t, "s", 1, fn), sink,
				concurrency.WithTracerProvider(panicTracer{name: "concurrency.pipeline.run"}))
		}},
		{"TracedChannel.Send span", func(t *testing.T) error {
			c := must(concurrency.NewTracedChannel[int](1, concurrency.WithItemSpans(true),
				concurrency.WithTracerProvider(panicTracer{name: "send channel"})))
			err := c.Send(ctx, 1)
			if c.Len() != 0 {
				t.Error("the value was sent although Send failed")
			}
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var pe *panics.Error
			if err := panics.Try(func() error { return tt.run(t) }); !errors.As(err, &pe) || pe.Value == "concurrency: nil Context" {
				t.Fatalf("err = %v, want the provider's panic as a *panics.Error", err)
			}
		})
	}
}

// TestRunSmallGaps: Run after Shutdown is ErrClosed even with no inputs
// (before: nil), and WithCollectAll with ctx ending returns ctx's error
// joined with the task errors (before: the task errors were dropped).
func TestRunSmallGaps(t *testing.T) {
	ctx := context.Background()
	p, err := concurrency.NewWorkerPool(1, func(_ context.Context, x int) (int, error) { return x, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx, nil); !errors.Is(err, concurrency.ErrClosed) {
		t.Errorf("Run(no inputs) after Shutdown = %v, want ErrClosed", err)
	}

	errTask := errors.New("task failed")
	cctx, cancel := context.WithCancel(ctx)
	release := make(chan struct{})
	q := newPool(t, 1, func(_ context.Context, x int) (int, error) {
		if x == 0 {
			cancel() // ends the caller's ctx while Run still queues
			<-release
			return 0, errTask
		}
		return x, nil
	}, concurrency.WithCollectAll(true), concurrency.WithQueueSize(1))
	go func() { time.Sleep(20 * time.Millisecond); close(release) }()
	_, err = q.Run(cctx, make([]int, 100))
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errTask) {
		t.Errorf("collect-all Run with ctx ending = %v, want context.Canceled and the task's error", err)
	}
}
