package concurrency_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/panics"
)

// panicTracer panics when it starts a span named name, as a broken
// TracerProvider (the user's code) might.
type panicTracer struct {
	noop.TracerProvider
	name string
}

func (p panicTracer) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return panicStart{name: p.name}
}

type panicStart struct {
	noop.Tracer
	name string
}

func (p panicStart) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if name == p.name {
		panic("boom")
	}
	return noop.Tracer{}.Start(ctx, name, opts...)
}

// TestCallbackPanicsComeBackAsErrors makes each callback the package
// runs, on a goroutine of its own or the caller's, panic in turn, and
// requires the panic back as a *panics.Error through the call that owns
// it, with no goroutine left. Before, a panicking source iterator, sink
// or TracerProvider crashed the process.
func TestCallbackPanicsComeBackAsErrors(t *testing.T) {
	ctx := context.Background()
	ok := func(_ context.Context, x int) (int, error) { return x, nil }
	boomAt := func(at int) func(context.Context, int) (int, error) {
		return func(_ context.Context, x int) (int, error) {
			if x == at {
				panic("boom")
			}
			return x, nil
		}
	}
	noSink := func(context.Context, int) error { return nil }
	pipeline := func(t *testing.T, src func(func(int) bool), first, second func(context.Context, int) (int, error), sink func(context.Context, int) error) error {
		return concurrency.RunPipeline(ctx, src, concurrency.Then(mustStage(t, "first", 3, first), mustStage(t, "second", 2, second)), sink)
	}
	for _, tt := range []struct {
		name  string
		stage string // the *StageError's stage, if any
		run   func(t *testing.T) error
	}{
		{"pipeline source", "source", func(t *testing.T) error {
			return pipeline(t, func(yield func(int) bool) {
				for i := 0; ; i++ {
					if i == 50 {
						panic("boom")
					}
					if !yield(i) {
						return
					}
				}
			}, ok, ok, noSink)
		}},
		{"pipeline source that yields after false", "source", func(t *testing.T) error {
			// The caller gives up, so yield returns false; the iterator
			// goes on, and the runtime panics in yield.
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			return concurrency.RunPipeline(ctx, func(yield func(int) bool) {
				for i := range 1000 {
					yield(i)
				}
			}, mustStage(t, "s", 2, ok), func(_ context.Context, x int) error {
				if x == 10 {
					cancel()
				}
				return nil
			})
		}},
		{"first stage", "first", func(t *testing.T) error { return pipeline(t, count(100), boomAt(7), ok, noSink) }},
		{"second stage", "second", func(t *testing.T) error { return pipeline(t, count(100), ok, boomAt(7), noSink) }},
		{"pipeline sink", "sink", func(t *testing.T) error {
			return pipeline(t, count(100), ok, ok, func(_ context.Context, x int) error {
				if x == 7 {
					panic("boom")
				}
				return nil
			})
		}},
		{"pool Run task", "", func(t *testing.T) error {
			_, err := newPool(t, 2, boomAt(3)).Run(ctx, []int{1, 2, 3, 4})
			return err
		}},
		{"pool Submit task", "", func(t *testing.T) error {
			done := make(chan error, 1)
			if err := newPool(t, 2, boomAt(3)).Submit(ctx, 3, func(_ int, err error) { done <- err }); err != nil {
				t.Fatal(err)
			}
			return <-done
		}},
		{"pool Submit callback", "", func(t *testing.T) error {
			handled := make(chan error, 1)
			p := newPool(t, 2, ok, concurrency.WithErrorHandler(func(err error) { handled <- err }))
			if err := p.Submit(ctx, 3, func(int, error) { panic("boom") }); err != nil {
				t.Fatal(err)
			}
			return <-handled
		}},
		{"pool error handler", "", func(t *testing.T) error {
			// A panicking error handler is dropped (nobody is left to
			// tell); the pool goes on. The panic of the task it was told
			// about is what this case checks comes back, from a Run.
			var once sync.Once
			handled := make(chan struct{})
			p := newPool(t, 1, boomAt(3), concurrency.WithErrorHandler(func(error) {
				once.Do(func() { close(handled) })
				panic("handler")
			}))
			if err := p.Submit(ctx, 3, nil); err != nil {
				t.Fatal(err)
			}
			<-handled
			_, err := p.Run(ctx, []int{3})
			return err
		}},
		{"pool task span (TracerProvider)", "", func(t *testing.T) error {
			p := newPool(t, 2, ok, concurrency.WithItemSpans(true),
				concurrency.WithTracerProvider(panicTracer{name: "concurrency.pool.task"}))
			_, err := p.Run(ctx, []int{1, 2})
			return err
		}},
		{"pipeline stage span (TracerProvider)", "first", func(t *testing.T) error {
			return concurrency.RunPipeline(ctx, count(100), concurrency.Then(mustStage(t, "first", 3, ok), mustStage(t, "second", 2, ok)), noSink,
				concurrency.WithItemSpans(true), concurrency.WithTracerProvider(panicTracer{name: "concurrency.pipeline.stage"}))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			current := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, current) }) // after the pools' Shutdown
			err := tt.run(t)
			var pe *panics.Error
			if !errors.As(err, &pe) || len(pe.Stack) == 0 {
				t.Fatalf("err = %v; want a *panics.Error", err)
			}
			if tt.stage != "" {
				var se *concurrency.StageError
				if !errors.As(err, &se) || se.Stage != tt.stage {
					t.Fatalf("err = %v; want a *StageError of %q", err, tt.stage)
				}
			}
		})
	}
}
