package ringbuffer

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Backoff of a blocked Push or Pop: spinLimit tries that only re-check,
// then yieldLimit tries that yield the processor in between, then park.
const (
	spinLimit  = 64
	yieldLimit = 16
)

// waitq parks goroutines until the other side of the queue makes progress.
// Its zero value is ready to use. It is safe for concurrent use and must
// not be copied after first use.
//
// A waiter registers (prepare), re-checks the queue, and only then parks
// on the channel it registered with; a notifier that publishes first and
// then finds a registered waiter closes that channel. With sequentially
// consistent atomics one of the two always sees the other, so no wakeup is
// lost. notify costs one atomic load while nobody waits.
type waitq struct {
	waiters atomic.Int32
	mu      struct {
		sync.Mutex
		ch chan struct{} // closed to wake every waiter, then replaced
	}
}

// prepare registers a waiter and returns the channel to park on. The
// caller must re-check its condition, then call wait or cancel.
func (w *waitq) prepare() chan struct{} {
	w.mu.Lock()
	if w.mu.ch == nil {
		w.mu.ch = make(chan struct{})
	}
	ch := w.mu.ch
	w.waiters.Add(1)
	w.mu.Unlock()
	return ch
}

// cancel unregisters a waiter that did not park.
func (w *waitq) cancel() { w.waiters.Add(-1) }

// wait parks until ch is closed or ctx ends, then unregisters.
func (w *waitq) wait(ctx context.Context, ch chan struct{}) error {
	defer w.waiters.Add(-1)
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notify wakes every parked waiter, if there is any.
func (w *waitq) notify() {
	if w.waiters.Load() == 0 {
		return
	}
	w.mu.Lock()
	if w.mu.ch != nil {
		close(w.mu.ch)
		w.mu.ch = nil
	}
	w.mu.Unlock()
}

// block runs try until it reports done, backing off between attempts:
// spinning, then yielding, then parking on q until notified. It returns
// ctx's error if ctx ends first.
func block(ctx context.Context, q *waitq, try func() bool) error {
	start := 0
	if !multicore {
		start = spinLimit // with one processor, go straight to yielding
	}
	for i := start; ; i++ {
		if try() {
			return nil
		}
		switch {
		case i < spinLimit:
			pause(min(4<<min(i, 4), 64)) // poll less often the longer it takes
			continue
		case i < spinLimit+yieldLimit:
			runtime.Gosched()
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ch := q.prepare()
		if try() {
			q.cancel()
			return nil
		}
		if err := q.wait(ctx, ch); err != nil {
			return err
		}
		i = start
	}
}

// multicore is whether spinning can help: with one processor, the
// goroutine that would make room cannot run while this one spins.
var multicore = runtime.GOMAXPROCS(0) > 1

// spinSink is read by pause; nothing writes it, so its cache line stays
// shared and each read is a cheap load the compiler cannot remove.
var spinSink atomic.Int32

// pause busy-waits for about n loads, a few nanoseconds each, without
// touching any line the other side of the queue writes.
func pause(n int) {
	for range n {
		spinSink.Load()
	}
}

// waitable is what the blocking calls need of a queue.
type waitable[T any] interface {
	TryPush(T) bool
	TryPop() (T, bool)
	TryPushBatch([]T) int
	TryPopBatch([]T) int
	closedForPush() bool
	drained() bool
}

// pushWait pushes v, waiting on w while q is full.
func pushWait[T any, Q waitable[T]](ctx context.Context, q Q, w *waitq, v T) error {
	var err error
	werr := block(ctx, w, func() bool {
		if q.TryPush(v) {
			return true
		}
		if q.closedForPush() {
			err = ErrClosed
			return true
		}
		return false
	})
	if werr != nil {
		return werr
	}
	return err
}

// popWait pops an item, waiting on w while q is empty.
func popWait[T any, Q waitable[T]](ctx context.Context, q Q, w *waitq) (T, error) {
	var v T
	var err error
	werr := block(ctx, w, func() bool {
		var ok bool
		if v, ok = q.TryPop(); ok {
			return true
		}
		if q.drained() {
			err = ErrClosed
			return true
		}
		return false
	})
	if werr != nil {
		return v, werr
	}
	return v, err
}

// pushBatchWait pushes every item of vs in order, waiting on w for room.
func pushBatchWait[T any, Q waitable[T]](ctx context.Context, q Q, w *waitq, vs []T) (int, error) {
	done := 0
	var err error
	werr := block(ctx, w, func() bool {
		done += q.TryPushBatch(vs[done:])
		if done == len(vs) {
			return true
		}
		if q.closedForPush() {
			err = ErrClosed
			return true
		}
		return false
	})
	if werr != nil {
		return done, werr
	}
	return done, err
}

// popBatchWait pops up to len(dst) items, waiting on w for at least one.
func popBatchWait[T any, Q waitable[T]](ctx context.Context, q Q, w *waitq, dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	n := 0
	var err error
	werr := block(ctx, w, func() bool {
		if n = q.TryPopBatch(dst); n > 0 {
			return true
		}
		if q.drained() {
			err = ErrClosed
			return true
		}
		return false
	})
	if werr != nil {
		return 0, werr
	}
	return n, err
}
