package concurrency_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/panics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newPool[In, Out any](t *testing.T, workers int, fn func(context.Context, In) (Out, error), opts ...concurrency.Option) *concurrency.WorkerPool[In, Out] {
	t.Helper()
	p, err := concurrency.NewWorkerPool(workers, fn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return p
}

var errOdd = errors.New("odd")

func TestRunKeepsOrder(t *testing.T) {
	p := newPool(t, 4, func(_ context.Context, x int) (string, error) { return strconv.Itoa(x * x), nil })
	in := make([]int, 1000)
	want := make([]string, len(in))
	for i := range in {
		in[i] = i
		want[i] = strconv.Itoa(i * i)
	}
	got, err := p.Run(context.Background(), in)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Run: %v", err)
	}
	if got, err := p.Run(context.Background(), nil); err != nil || len(got) != 0 {
		t.Fatalf("Run of nothing: %v", err)
	}
}

func TestRunFailsFastOrCollectsAll(t *testing.T) {
	var calls atomic.Int64
	fn := func(ctx context.Context, x int) (int, error) {
		calls.Add(1)
		if x%2 == 1 {
			return 0, errOdd
		}
		return x, nil
	}
	in := make([]int, 500)
	for i := range in {
		in[i] = i
	}
	p := newPool(t, 2, fn)
	_, err := p.Run(context.Background(), in)
	var te *concurrency.TaskError
	if !errors.As(err, &te) || !errors.Is(err, errOdd) || te.Index%2 != 1 {
		t.Fatalf("fail fast: %v", err)
	}
	if calls.Load() == int64(len(in)) {
		t.Log("every task ran before the failure was seen (possible, rare)")
	}
	calls.Store(0)
	all := newPool(t, 2, fn, concurrency.WithCollectAll(true))
	_, err = all.Run(context.Background(), in)
	if n := len(errs.Split(err)); n != 250 || calls.Load() != 500 {
		t.Fatalf("collect all: %d errors, %d calls", n, calls.Load())
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	p := newPool(t, 2, func(_ context.Context, x int) (int, error) {
		if x == 3 {
			panic("three")
		}
		return x, nil
	})
	_, err := p.Run(context.Background(), []int{1, 2, 3, 4})
	var pe *panics.Error
	var te *concurrency.TaskError
	if !errors.As(err, &pe) || !errors.As(err, &te) || te.Index != 2 || pe.Value != "three" || len(pe.Stack) == 0 {
		t.Fatalf("panic: %v", err)
	}
	// The pool still works.
	if out, err := p.Run(context.Background(), []int{5}); err != nil || out[0] != 5 {
		t.Fatal("pool broken after a panic")
	}
}

func TestSubmitCallbacksAndUnobservedErrors(t *testing.T) {
	var handled atomic.Int64
	p := newPool(t, 3, func(_ context.Context, x int) (int, error) {
		if x < 0 {
			return 0, errOdd
		}
		return 2 * x, nil
	}, concurrency.WithErrorHandler(func(err error) {
		if errors.Is(err, errOdd) {
			handled.Add(1)
		}
	}))
	var sum atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		if err := p.Submit(context.Background(), i, func(v int, err error) { sum.Add(int64(v)); wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Submit(context.Background(), -1, nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sum.Load() != 2*4950 || handled.Load() != 1 {
		t.Fatalf("sum %d, unobserved errors handled %d", sum.Load(), handled.Load())
	}
	if err := p.Submit(context.Background(), 1, nil); !errors.Is(err, concurrency.ErrClosed) {
		t.Fatalf("Submit after Shutdown: %v", err)
	}
	if _, err := p.Run(context.Background(), []int{1}); !errors.Is(err, concurrency.ErrClosed) {
		t.Fatalf("Run after Shutdown: %v", err)
	}
}

func TestBackpressureAndShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	p, err := concurrency.NewWorkerPool(1, func(ctx context.Context, x int) (int, error) {
		started <- struct{}{}
		<-release
		return x, nil
	}, concurrency.WithQueueSize(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Submit(context.Background(), 1, nil); err != nil { // runs, blocks
		t.Fatal(err)
	}
	<-started
	// The queue holds two (a capacity of 1 rounds up to 2); the next waits.
	for i := range 2 {
		if err := p.Submit(context.Background(), 2+i, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Submit(ctx, 4, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit to a full queue: %v", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer scancel()
	if err := p.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown while a task blocks: %v", err)
	}
	go func() {
		for range 3 {
			release <- struct{}{}
		}
	}()
	for range 2 {
		<-started
	}
	if err := p.Shutdown(context.Background()); err != nil { // drains the two queued, then ends
		t.Fatal(err)
	}
	if _, err := concurrency.NewWorkerPool(0, func(context.Context, int) (int, error) { return 0, nil }); !errors.Is(err, concurrency.ErrInvalidWorkers) {
		t.Fatalf("zero workers: %v", err)
	}
	var zero *concurrency.WorkerPool[int, int]
	if zero.Submit(context.Background(), 1, nil) != concurrency.ErrClosed || zero.Shutdown(context.Background()) != nil {
		t.Fatal("a nil pool")
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := newPool(t, 2, func(ctx context.Context, x int) (int, error) {
		if x == 10 {
			cancel()
		}
		return x, ctx.Err()
	}, concurrency.WithQueueSize(4))
	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	if _, err := p.Run(ctx, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// TestWorkerPoolConcurrentSafe runs Submits and Runs from many goroutines
// while the pool shuts down, and requires every accepted task to be
// accounted for exactly once.
func TestWorkerPoolConcurrentSafe(t *testing.T) {
	var executed atomic.Int64
	p, err := concurrency.NewWorkerPool(3, func(_ context.Context, x int) (int, error) {
		executed.Add(1)
		return x, nil
	}, concurrency.WithQueueSize(8))
	if err != nil {
		t.Fatal(err)
	}
	var accepted, delivered atomic.Int64
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if g%2 == 0 {
					if err := p.Submit(context.Background(), i, func(int, error) { delivered.Add(1) }); err != nil {
						return
					}
					accepted.Add(1)
					continue
				}
				out, err := p.Run(context.Background(), []int{1, 2, 3})
				if err != nil {
					if !errors.Is(err, concurrency.ErrClosed) {
						t.Error(err)
					}
					return
				}
				if len(out) != 3 || out[2] != 3 {
					t.Error("a Run lost its results")
					return
				}
			}
		})
	}
	for executed.Load() < 300 {
		time.Sleep(time.Millisecond)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if accepted.Load() != delivered.Load() {
		t.Fatalf("accepted %d submitted tasks, delivered %d", accepted.Load(), delivered.Load())
	}
}

func TestRunReportsCancellationOfQueuedTasks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	p := newPool(t, 1, func(ctx context.Context, x int) (int, error) {
		if x == 0 {
			cancel() // the caller gives up while the first task runs
			<-release
		}
		return x + 1, nil
	})
	go func() { close(release) }()
	out, err := p.Run(ctx, []int{0, 1, 2, 3, 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after its ctx ended with tasks skipped = %v, %v", out, err)
	}
}

func TestZeroValuesAndCallbackPanics(t *testing.T) {
	ctx := context.Background()
	var zp concurrency.WorkerPool[int, int]
	if _, err := zp.Run(ctx, []int{1}); !errors.Is(err, concurrency.ErrClosed) {
		t.Errorf("the zero WorkerPool's Run: %v", err)
	}
	var zc concurrency.TracedChannel[int]
	zc.Close()
	if err := zc.Send(ctx, 1); !errors.Is(err, concurrency.ErrClosed) {
		t.Errorf("the zero TracedChannel's Send: %v", err)
	}
	if _, _, err := zc.Receive(ctx); !errors.Is(err, concurrency.ErrClosed) {
		t.Errorf("the zero TracedChannel's Receive: %v", err)
	}
	var zs concurrency.Stage[int, int]
	if err := concurrency.RunPipeline(ctx, count(3), zs, func(context.Context, int) error { return nil }); !errors.Is(err, concurrency.ErrInvalidStage) {
		t.Errorf("RunPipeline with the zero Stage: %v", err)
	}
	var reported atomic.Int64
	p := newPool(t, 1, func(_ context.Context, x int) (int, error) { return x, nil },
		concurrency.WithErrorHandler(func(err error) {
			var pe *panics.Error
			if errors.As(err, &pe) {
				reported.Add(1)
			}
		}))
	var wg sync.WaitGroup
	wg.Add(1)
	if err := p.Submit(ctx, 1, func(int, error) { defer wg.Done(); panic("callback") }); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if out, err := p.Run(ctx, []int{7}); err != nil || out[0] != 7 {
		t.Fatalf("the pool after a callback panic: %v, %v", out, err)
	}
	if reported.Load() != 1 {
		t.Fatalf("%d panics reported", reported.Load())
	}
}
