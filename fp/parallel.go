package fp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/otlpgo/otlpgo/panics"
)

// ParallelMap applies f to every element of s with at most limit calls
// running at once (limit < 1 means runtime.GOMAXPROCS), and returns the
// results in the order of s. The first error, or a panic in f (returned
// as a *panics.Error with its stack), cancels the context the other
// calls receive and is returned once every call has returned: no
// goroutine outlives ParallelMap. If ctx is cancelled first, it returns
// ctx's error. Results of elements not reached are zero.
//
// A runtime.Goexit in f (t.FailNow in a fake) ends only the goroutine
// that ran it, and fails ParallelMap as an error would: it returns an
// error naming the element that matches panics.ErrGoexit. A nil f is
// ErrNilFunc.
//
// It starts min(limit, len(s)) goroutines, which take elements in turn
// and run wholly under package panics; nothing is allocated per element.
func ParallelMap[S ~[]T, T, U any](ctx context.Context, s S, limit int, f func(context.Context, T) (U, error)) ([]U, error) {
	if f == nil {
		return nil, ErrNilFunc
	}
	out := make([]U, len(s))
	if len(s) == 0 {
		return out, ctx.Err()
	}
	if limit < 1 {
		limit = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		done     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error // set once, read after wg.Wait
	)
	for range min(limit, len(s)) {
		wg.Go(func() {
			// One recover per goroutine, not per element: a panic in f ends
			// this goroutine's loop as an error would, and so does a Goexit
			// (reported from the goroutine's last deferred call).
			i := -1
			panics.Guard(func() error {
				for ctx.Err() == nil {
					i = int(next.Add(1) - 1)
					if i >= len(s) {
						return nil
					}
					u, err := f(ctx, s[i])
					if err != nil {
						return err
					}
					out[i] = u
					done.Add(1)
				}
				return nil
			}, func(err error) {
				if errors.Is(err, panics.ErrGoexit) {
					err = fmt.Errorf("fp: element %d: %w", i, err)
				}
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			})
		})
	}
	wg.Wait()
	if firstErr != nil {
		return out, firstErr
	}
	if int(done.Load()) < len(s) {
		return out, context.Cause(ctx)
	}
	return out, nil
}
