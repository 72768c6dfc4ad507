package concurrency_test

import (
	"context"
	"fmt"
	"slices"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/concurrency"
)

func Example() {
	ctx := context.Background()
	upper, _ := concurrency.NewStage("upper", 2, func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	size, _ := concurrency.NewStage("size", 2, func(_ context.Context, s string) (string, error) { return fmt.Sprint(s, ":", len(s)), nil })
	var out []string
	err := concurrency.RunPipeline(ctx, slices.Values([]string{"limit", "ioc", "fok"}), concurrency.Then(upper, size),
		func(_ context.Context, s string) error { out = append(out, s); return nil })
	slices.Sort(out) // stages with several workers do not keep order
	fmt.Println(out, err)
	// Output:
	// [FOK:3 IOC:3 LIMIT:5] <nil>
}

// Run keeps the order of its inputs; the first error stops the rest.
func ExampleWorkerPool() {
	ctx := context.Background()
	pool, err := concurrency.NewWorkerPool(4, func(_ context.Context, n int) (int, error) {
		if n < 0 {
			return 0, fmt.Errorf("negative: %d", n)
		}
		return n * n, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Shutdown(ctx)
	fmt.Println(pool.Run(ctx, []int{1, 2, 3, 4}))
	_, err = pool.Run(ctx, []int{1, -2, 3})
	fmt.Println(err)
	// Output:
	// [1 4 9 16] <nil>
	// task 1: negative: -2
}

// A value's receiver gets the span context it was sent in.
func ExampleTracedChannel() {
	ctx := context.Background()
	ch, err := concurrency.NewTracedChannel[string](8, concurrency.WithName("fills"))
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = ch.Send(ctx, "fill 1")
	ch.Close()
	for {
		v, sc, err := ch.Receive(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(v, sc.IsValid()) // no span in ctx here; with one, link to sc
	}
	// Output:
	// fill 1 false
	// concurrency: closed
}

// FanOut shares work among readers; FanIn merges their results.
func ExampleFanIn() {
	ctx := context.Background()
	in := make(chan int)
	go func() {
		defer close(in)
		for i := 1; i <= 4; i++ {
			in <- i
		}
	}()
	outs, err := concurrency.FanOut(ctx, in, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := 0
	for v := range concurrency.FanIn(ctx, outs...) {
		sum += v
	}
	fmt.Println(sum)
	// Output:
	// 10
}

// A Stage runs its function on its own workers; Then joins stages with a
// typed channel between them.
func ExampleStage() {
	ctx := context.Background()
	double, _ := concurrency.NewStage("double", 4, func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	sum := 0
	err := concurrency.RunPipeline(ctx, slices.Values([]int{1, 2, 3, 4}), double, func(_ context.Context, n int) error {
		sum += n // the sink runs on RunPipeline's goroutine
		return nil
	})
	fmt.Println(sum, err)
	// Output:
	// 20 <nil>
}

// Each task of a Run is a trace of its own, linked to the run's span,
// so that a long run is not one unbounded trace and each task is sampled
// on its own.
func ExampleWithItemSpans() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	pool, err := concurrency.NewWorkerPool(2, func(_ context.Context, n int) (int, error) { return n * n, nil },
		concurrency.WithTracerProvider(tp), concurrency.WithItemSpans(true))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Shutdown(ctx)
	if _, err := pool.Run(ctx, []int{1, 2, 3}); err != nil {
		fmt.Println(err)
		return
	}
	var run trace.SpanContext
	for _, s := range rec.Ended() {
		if s.Name() == "concurrency.pool.run" {
			run = s.SpanContext()
		}
	}
	for _, s := range rec.Ended() {
		if s.Name() == "concurrency.pool.task" {
			fmt.Println(s.Name(), "root:", !s.Parent().IsValid(), "own trace:", s.SpanContext().TraceID() != run.TraceID(),
				"linked to the run:", s.Links()[0].SpanContext.SpanID() == run.SpanID())
		}
	}
	// Output:
	// concurrency.pool.task root: true own trace: true linked to the run: true
	// concurrency.pool.task root: true own trace: true linked to the run: true
	// concurrency.pool.task root: true own trace: true linked to the run: true
}
