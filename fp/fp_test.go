package fp_test

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/fp"
	"github.com/otlpgo/otlpgo/panics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestAgainstLoops checks every helper against the plain loop it
// replaces, on random slices (seed logged).
func TestAgainstLoops(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	double := func(x int) string { return strconv.Itoa(2 * x) }
	even := func(x int) bool { return x%2 == 0 }
	sum := func(a, x int) int { return a + x }
	for range 200 {
		s := make([]int, rng.IntN(100))
		for i := range s {
			s[i] = rng.IntN(1000) - 500
		}
		var wantMap []string
		var wantFilter []int
		wantSum := 7
		for _, x := range s {
			wantMap = append(wantMap, double(x))
			if even(x) {
				wantFilter = append(wantFilter, x)
			}
			wantSum += x
		}
		if got := fp.Map(s, double); !slices.Equal(got, wantMap) && len(s) > 0 {
			t.Fatalf("Map(%v) = %v", s, got)
		}
		if got := fp.Filter(s, even); !slices.Equal(got, wantFilter) {
			t.Fatalf("Filter(%v) = %v", s, got)
		}
		if got := fp.Reduce(s, 7, sum); got != wantSum {
			t.Fatalf("Reduce = %d, want %d", got, wantSum)
		}
		seq := slices.Values(s)
		if got := slices.Collect(fp.MapSeq(seq, double)); !slices.Equal(got, wantMap) {
			t.Fatalf("MapSeq = %v", got)
		}
		if got := slices.Collect(fp.FilterSeq(seq, even)); !slices.Equal(got, wantFilter) {
			t.Fatalf("FilterSeq = %v", got)
		}
		if got := fp.ReduceSeq(seq, 7, sum); got != wantSum {
			t.Fatalf("ReduceSeq = %d", got)
		}
		got, err := fp.MapContext(ctx, s, func(_ context.Context, x int) (string, error) { return double(x), nil })
		if err != nil || (!slices.Equal(got, wantMap) && len(s) > 0) {
			t.Fatalf("MapContext = %v, %v", got, err)
		}
		kept, err := fp.FilterContext(ctx, s, func(_ context.Context, x int) (bool, error) { return even(x), nil })
		if err != nil || !slices.Equal(kept, wantFilter) {
			t.Fatalf("FilterContext = %v, %v", kept, err)
		}
		total, err := fp.ReduceContext(ctx, s, 7, func(_ context.Context, a, x int) (int, error) { return sum(a, x), nil })
		if err != nil || total != wantSum {
			t.Fatalf("ReduceContext = %d, %v", total, err)
		}
		par, err := fp.ParallelMap(ctx, s, 1+rng.IntN(8), func(_ context.Context, x int) (string, error) { return double(x), nil })
		if err != nil || (!slices.Equal(par, wantMap) && len(s) > 0) {
			t.Fatalf("ParallelMap = %v, %v", par, err)
		}
	}
}

func TestSeqStopsEarly(t *testing.T) {
	calls := 0
	seq := fp.MapSeq(slices.Values([]int{1, 2, 3, 4}), func(x int) int { calls++; return x })
	for v := range seq {
		if v == 2 {
			break
		}
	}
	next, stop := iter.Pull(fp.FilterSeq(slices.Values([]int{1, 2, 3, 4}), func(x int) bool { return x > 2 }))
	defer stop()
	v, ok := next()
	if calls != 2 || v != 3 || !ok {
		t.Fatalf("MapSeq ran %d times after a break; FilterSeq gave %d, %v", calls, v, ok)
	}
}

var errBoom = errors.New("boom")

func TestContextVariantsStop(t *testing.T) {
	s := make([]int, 100)
	calls := 0
	_, err := fp.MapContext(context.Background(), s, func(context.Context, int) (int, error) {
		if calls++; calls == 10 {
			return 0, errBoom
		}
		return 1, nil
	})
	if !errors.Is(err, errBoom) || calls != 10 {
		t.Fatalf("MapContext went on after an error: %d calls, %v", calls, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = fp.FilterContext(ctx, s, func(context.Context, int) (bool, error) {
		if calls++; calls == 5 {
			cancel()
		}
		return true, nil
	})
	if !errors.Is(err, context.Canceled) || calls > 5+16 {
		t.Fatalf("FilterContext after cancel: %d calls, %v", calls, err)
	}
	_, err = fp.ReduceContext(ctx, s, 0, func(context.Context, int, int) (int, error) { return 0, nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ReduceContext on a cancelled context: %v", err)
	}
}

func TestParallelMapBoundErrorsAndPanicsConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	s := make([]int, 200)
	for i := range s {
		s[i] = i
	}
	// The bound holds.
	var running, peak atomic.Int64
	out, err := fp.ParallelMap(ctx, s, 3, func(_ context.Context, x int) (int, error) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		defer running.Add(-1)
		return x * x, nil
	})
	if err != nil || peak.Load() > 3 || out[199] != 199*199 {
		t.Fatalf("peak %d calls at once with a bound of 3; err %v", peak.Load(), err)
	}
	// The first error is returned.
	_, err = fp.ParallelMap(ctx, s, 4, func(ctx context.Context, x int) (int, error) {
		if x == 20 {
			return 0, errBoom
		}
		return x, nil
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("ParallelMap error = %v", err)
	}
	// A panic is an error with its stack.
	_, err = fp.ParallelMap(ctx, s, 4, func(_ context.Context, x int) (int, error) {
		if x == 7 {
			panic("seven")
		}
		return x, nil
	})
	var pe *panics.Error
	if !errors.As(err, &pe) || pe.Value != "seven" || len(pe.Stack) == 0 {
		t.Fatalf("panic came back as %v", err)
	}
	// A cancelled parent ends it with its error.
	cctx, cancel := context.WithCancel(ctx)
	_, err = fp.ParallelMap(cctx, s, 2, func(ctx context.Context, x int) (int, error) {
		if x == 3 {
			cancel()
		}
		if x > 3 {
			<-ctx.Done() // no element past 3 finishes before the cancellation
		}
		return x, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("after the parent was cancelled: %v", err)
	}
	if got, err := fp.ParallelMap(ctx, []int(nil), 0, func(context.Context, int) (int, error) { return 0, nil }); err != nil || len(got) != 0 {
		t.Fatal("ParallelMap of nothing")
	}
}

func TestResultAndOption(t *testing.T) {
	r := fp.Try(strconv.Atoi("42"))
	if v, err := r.Get(); v != 42 || err != nil || !r.IsOk() || r.Or(0) != 42 {
		t.Fatal("Try of a success")
	}
	bad := fp.Try(strconv.Atoi("x"))
	if bad.IsOk() || bad.Err() == nil || bad.Or(-1) != -1 {
		t.Fatal("Try of a failure")
	}
	if !fp.Ok("a").IsOk() || fp.Fail[int](errBoom).Err() != errBoom {
		t.Fatal("Ok, Fail")
	}
	m := map[string]int{"a": 1}
	if v, ok := fp.OptionOf(m["a"], true).Get(); v != 1 || !ok {
		t.Fatal("OptionOf")
	}
	_, found := m["b"]
	if o := fp.OptionOf(m["b"], found); o.IsSome() || o.Or(9) != 9 {
		t.Fatal("OptionOf of a miss")
	}
	if !fp.Some(0).IsSome() || fp.None[string]().IsSome() {
		t.Fatal("Some, None")
	}
	var zr fp.Result[int]
	var zo fp.Option[int]
	if !zr.IsOk() || zo.IsSome() {
		t.Fatal("zero values")
	}
}
