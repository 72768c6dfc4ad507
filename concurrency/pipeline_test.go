package concurrency_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/panics"
)

// must returns a constructor's value, panicking (failing the test) on
// its error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustStage[In, Out any](t *testing.T, name string, workers int, fn func(context.Context, In) (Out, error)) concurrency.Stage[In, Out] {
	t.Helper()
	s, err := concurrency.NewStage(name, workers, fn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func count(n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

func TestPipelineRunsEveryValueThroughEveryStage(t *testing.T) {
	parse := mustStage(t, "format", 3, func(_ context.Context, x int) (string, error) { return strconv.Itoa(x), nil })
	length := mustStage(t, "length", 2, func(_ context.Context, s string) (int, error) { return len(s), nil })
	var got []int
	err := concurrency.RunPipeline(context.Background(), count(1000), concurrency.Then(parse, length),
		func(_ context.Context, n int) error { got = append(got, n); return nil })
	if err != nil || len(got) != 1000 {
		t.Fatalf("%d results, %v", len(got), err)
	}
	slices.Sort(got)
	if got[0] != 1 || got[999] != 3 || slices.Index(got, 2) != 10 {
		t.Fatalf("lengths wrong: first %d, last %d", got[0], got[999])
	}
}

func TestPipelineErrorsNameTheStage(t *testing.T) {
	ok := mustStage(t, "double", 2, func(_ context.Context, x int) (int, error) { return 2 * x, nil })
	bad := mustStage(t, "reject", 2, func(_ context.Context, x int) (int, error) {
		if x == 84 {
			return 0, errOdd
		}
		return x, nil
	})
	var sunk atomic.Int64
	err := concurrency.RunPipeline(context.Background(), count(1_000_000), concurrency.Then(ok, bad),
		func(context.Context, int) error { sunk.Add(1); return nil })
	var se *concurrency.StageError
	if !errors.As(err, &se) || se.Stage != "reject" || !errors.Is(err, errOdd) {
		t.Fatalf("pipeline error %v", err)
	}
	if sunk.Load() >= 1_000_000 {
		t.Fatal("the pipeline ran on after the failure")
	}
	// A panic, and a sink error.
	boom := mustStage(t, "boom", 1, func(_ context.Context, x int) (int, error) {
		if x == 5 {
			panic("five")
		}
		return x, nil
	})
	err = concurrency.RunPipeline(context.Background(), count(100), boom, func(context.Context, int) error { return nil })
	var pe *panics.Error
	if !errors.As(err, &se) || se.Stage != "boom" || !errors.As(err, &pe) {
		t.Fatalf("panic in a stage: %v", err)
	}
	err = concurrency.RunPipeline(context.Background(), count(100), ok, func(_ context.Context, x int) error {
		if x == 10 {
			return errOdd
		}
		return nil
	})
	if !errors.As(err, &se) || se.Stage != "sink" {
		t.Fatalf("sink error: %v", err)
	}
	if _, err := concurrency.NewStage("none", 0, func(_ context.Context, x int) (int, error) { return x, nil }); !errors.Is(err, concurrency.ErrInvalidWorkers) {
		t.Fatalf("zero workers: %v", err)
	}
}

func TestPipelineCancelledConcurrentSafe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := mustStage(t, "slow", 4, func(ctx context.Context, x int) (int, error) { return x, nil })
	n := 0
	err := concurrency.RunPipeline(ctx, count(1_000_000), concurrency.Then(s, s), func(context.Context, int) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pipeline: %v", err)
	}
}

func TestFanOutFanInConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	in := make(chan int)
	go func() {
		defer close(in)
		for i := range 1000 {
			in <- i
		}
	}()
	outs := must(concurrency.FanOut(ctx, in, 4))
	doubled := make([]<-chan int, len(outs))
	for i, o := range outs {
		d := make(chan int)
		doubled[i] = d
		go func() {
			defer close(d)
			for v := range o {
				d <- 2 * v
			}
		}()
	}
	sum := 0
	for v := range concurrency.FanIn(ctx, doubled...) {
		sum += v
	}
	if sum != 2*499500 {
		t.Fatalf("sum %d", sum)
	}
	// Cancelled: every output closes without the input closing.
	cctx, cancel := context.WithCancel(ctx)
	never := make(chan int)
	outs = must(concurrency.FanOut(cctx, never, 2))
	merged := concurrency.FanIn(cctx, outs...)
	cancel()
	for range merged {
	}
	for _, o := range outs {
		for range o {
		}
	}
}
