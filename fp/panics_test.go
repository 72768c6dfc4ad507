package fp_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/fp"
	"github.com/otlpgo/otlpgo/panics"
)

// TestCallbackPanicsComeBackAsErrors makes the callback of each function
// that returns an error panic in turn, and requires the panic back as a
// *panics.Error, with the results so far, and no goroutine left. Before,
// a panic in MapContext's, FilterContext's or ReduceContext's callback
// went up the caller's stack; ParallelMap already recovered f.
func TestCallbackPanicsComeBackAsErrors(t *testing.T) {
	ctx := context.Background()
	s := make([]int, 100)
	for i := range s {
		s[i] = i
	}
	for _, tt := range []struct {
		name string
		run  func() (done int, err error) // done: elements handled before the panic
	}{
		{"ParallelMap", func() (int, error) {
			out, err := fp.ParallelMap(ctx, s, 4, func(_ context.Context, x int) (int, error) {
				if x == 50 {
					panic("boom")
				}
				return x + 1, nil
			})
			n := 0
			for _, v := range out {
				if v != 0 {
					n++
				}
			}
			return min(n, 1), err // some ran; which ones depends on scheduling
		}},
		{"MapContext", func() (int, error) {
			out, err := fp.MapContext(ctx, s, func(_ context.Context, x int) (int, error) {
				if x == 50 {
					panic("boom")
				}
				return x + 1, nil
			})
			if out[49] != 50 || out[50] != 0 {
				return -1, err
			}
			return 1, err
		}},
		{"FilterContext", func() (int, error) {
			out, err := fp.FilterContext(ctx, s, func(_ context.Context, x int) (bool, error) {
				if x == 50 {
					panic("boom")
				}
				return true, nil
			})
			return min(len(out)/50, 1), err
		}},
		{"ReduceContext", func() (int, error) {
			acc, err := fp.ReduceContext(ctx, s, 0, func(_ context.Context, a, x int) (int, error) {
				if x == 50 {
					panic("boom")
				}
				return a + 1, nil
			})
			return min(acc/50, 1), err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			done, err := tt.run()
			var pe *panics.Error
			if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
				t.Fatalf("err = %v; want the panic as a *panics.Error", err)
			}
			if done != 1 {
				t.Fatal("the results so far are lost")
			}
		})
	}
}

// TestMapPanicsReachTheCaller pins the other half of the policy: Map has
// no error to return, so a panic in f reaches its caller unchanged.
func TestMapPanicsReachTheCaller(t *testing.T) {
	err := panics.Try(func() error {
		fp.Map([]int{1}, func(int) int { panic("boom") })
		return nil
	})
	var pe *panics.Error
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("Map's panic: %v", err)
	}
}

// TestCallbackGoexitFailsTheCall: a runtime.Goexit in ParallelMap's f, on
// a goroutine ParallelMap started, used to end that goroutine silently:
// ParallelMap returned a nil error with a zero result at that element.
// Now it returns an error matching panics.ErrGoexit, for every limit.
func TestCallbackGoexitFailsTheCall(t *testing.T) {
	s := make([]int, 64)
	for i := range s {
		s[i] = i
	}
	for _, limit := range []int{1, 4, 64} {
		_, err := fp.ParallelMap(context.Background(), s, limit, func(_ context.Context, x int) (int, error) {
			if x == 10 {
				runtime.Goexit()
			}
			return x + 1, nil
		})
		if !errors.Is(err, panics.ErrGoexit) {
			t.Errorf("limit %d: ParallelMap with a Goexit in f = %v, want panics.ErrGoexit", limit, err)
		}
	}
}

// TestNilFuncIsTypedError: every fp function that returns an error
// rejects a nil function with ErrNilFunc instead of panicking or, with
// an empty input, succeeding.
func TestNilFuncIsTypedError(t *testing.T) {
	ctx := context.Background()
	for _, in := range [][]int{nil, {1, 2, 3}} {
		for name, call := range map[string]func() error{
			"ParallelMap":   func() error { _, err := fp.ParallelMap[[]int, int, int](ctx, in, 2, nil); return err },
			"MapContext":    func() error { _, err := fp.MapContext[[]int, int, int](ctx, in, nil); return err },
			"FilterContext": func() error { _, err := fp.FilterContext[[]int](ctx, in, nil); return err },
			"ReduceContext": func() error { _, err := fp.ReduceContext[[]int, int, int](ctx, in, 0, nil); return err },
		} {
			if err := call(); !errors.Is(err, fp.ErrNilFunc) {
				t.Errorf("%s(len %d, nil) = %v, want ErrNilFunc", name, len(in), err)
			}
		}
	}
}
