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
// on a token channel of capacity one; a notifier that publishes first and
// then finds a registered waiter drops a token in it (without blocking).
// With sequentially consistent atomics one of the two always sees the
// other, and a token dropped before the waiter parks stays in the channel,
// so no wakeup is lost. A token wakes one waiter; a waiter that succeeds
// passes the wakeup on while others wait (block does), and close wakes
// them all. The channels are made once, so parking allocates nothing.
// notify costs one atomic load while nobody waits.
type waitq struct {
	waiters atomic.Int32
	once    sync.Once
	token   chan struct{} // capacity 1: a wakeup for one waiter
	closed  chan struct{} // closed by closeAll: wakes every waiter
	closing sync.Once
}

func (w *waitq) init() {
	w.once.Do(func() {
		w.token = make(chan struct{}, 1)
		w.closed = make(chan struct{})
	})
}

// prepare registers a waiter. The caller must re-check its condition, then
// call wait or cancel.
func (w *waitq) prepare() {
	w.init()
	w.waiters.Add(1)
}

// cancel unregisters a waiter that did not park.
func (w *waitq) cancel() { w.waiters.Add(-1) }

// wait parks until a token arrives, closeAll is called or ctx ends, then
// unregisters.
func (w *waitq) wait(ctx context.Context) error {
	defer w.waiters.Add(-1)
	select {
	case <-w.token:
		return nil
	case <-w.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notify wakes one parked waiter, if there is any.
func (w *waitq) notify() {
	if w.waiters.Load() == 0 {
		return
	}
	select {
	case w.token <- struct{}{}:
	default: // a token is already waiting to be taken
	}
}

// closeAll wakes every waiter, now and later: for Close.
func (w *waitq) closeAll() {
	w.init()
	w.closing.Do(func() { close(w.closed) })
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
		q.prepare()
		if try() {
			q.cancel()
			q.notify() // a token meant for this waiter may be left: pass it on
			return nil
		}
		if err := q.wait(ctx); err != nil {
			return err
		}
		if try() {
			q.notify() // there may be more: wake the next waiter, if any
			return nil
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
