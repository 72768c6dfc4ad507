package ringbuffer

import (
	"context"
	"sync/atomic"
)

// SPSC is a bounded queue for exactly one producer goroutine and one
// consumer goroutine at a time. Items come out in the order they went in.
//
// Push, TryPush, PushBatch, TryPushBatch and Close are the producer's: at
// most one goroutine may call them at a time, and Close must not race with
// a push. Pop, TryPop, PopBatch and TryPopBatch are the consumer's, with
// the same rule. Len and Cap are safe from anywhere. An SPSC must not be
// copied after first use; the zero SPSC is not usable, use NewSPSC.
// Measured here (BenchmarkQueue, one producer and one consumer), an item
// moves through in MEASURED_SPSC, and in batches of 64 in MEASURED_SPSC_BATCH
// per item, against a buffered channel's MEASURED_CHAN.
type SPSC[T any] struct {
	_ pad
	// Each side writes its own position on its own cache line and reads
	// the other's only to answer Len or to tell "closed and empty": in
	// the fast path the two meet only in the slots, whose sequence numbers
	// say free or full, as in MPMC but with no compare-and-swap.
	tail     atomic.Uint64 // next position to push; closedBit once closed
	_        pad
	head     atomic.Uint64 // next position to pop
	_        pad
	closed   atomic.Bool // set by Close; read by waiting consumers
	_        pad
	mask     uint64 // immutable: capacity-1
	slots    []slot[T]
	notFull  waitq
	_        pad
	notEmpty waitq
}

// NewSPSC returns an empty SPSC queue holding up to capacity items,
// rounded up to a power of two. It panics if capacity is below 1 or above
// 2^30, as make does for a negative length.
func NewSPSC[T any](capacity int) *SPSC[T] {
	c := roundCapacity(capacity, "SPSC")
	q := &SPSC[T]{mask: c - 1, slots: make([]slot[T], c)}
	for i := range q.slots {
		q.slots[i].seq.Store(uint64(i))
	}
	return q
}

// Cap returns the capacity.
func (q *SPSC[T]) Cap() int { return int(q.mask + 1) }

// Len returns the number of items in the queue: exact when the queue is
// quiet, a snapshot while it is in use.
func (q *SPSC[T]) Len() int {
	head := q.head.Load()
	tail := q.tail.Load() &^ closedBit
	if tail <= head {
		return 0
	}
	return int(tail - head)
}

// Close stops further pushes; items in the queue can still be popped. It
// is the producer's to call (or anyone's once the producer is done).
// Closing twice is harmless.
func (q *SPSC[T]) Close() {
	q.tail.Or(closedBit)
	q.closed.Store(true)
	q.notFull.notify()
	q.notEmpty.notify()
}

// free counts the slots free for the producer from position tail on, up
// to want.
func (q *SPSC[T]) free(tail uint64, want int) int {
	n := 0
	for n < want && n <= int(q.mask) && q.slots[(tail+uint64(n))&q.mask].seq.Load() == tail+uint64(n) {
		n++
	}
	return n
}

// TryPush adds v if there is room, and reports whether it did. It returns
// false when the queue is full or closed; Push tells the two apart.
func (q *SPSC[T]) TryPush(v T) bool {
	tail := q.tail.Load()
	if tail&closedBit != 0 {
		return false
	}
	s := &q.slots[tail&q.mask]
	if s.seq.Load() != tail {
		return false // the item a lap ago is still there: full
	}
	s.val = v
	s.seq.Store(tail + 1)
	q.tail.Store(tail + 1)
	q.notEmpty.notify()
	return true
}

// TryPushBatch adds as many items of vs as there is room for, in order,
// and returns how many.
func (q *SPSC[T]) TryPushBatch(vs []T) int {
	tail := q.tail.Load()
	if tail&closedBit != 0 {
		return 0
	}
	n := q.free(tail, len(vs))
	if n == 0 {
		return 0
	}
	for i := range n {
		s := &q.slots[(tail+uint64(i))&q.mask]
		s.val = vs[i]
		s.seq.Store(tail + uint64(i) + 1)
	}
	q.tail.Store(tail + uint64(n))
	q.notEmpty.notify()
	return n
}

// TryPop removes and returns the oldest item, if there is one.
func (q *SPSC[T]) TryPop() (T, bool) {
	head := q.head.Load()
	s := &q.slots[head&q.mask]
	var zero T
	if s.seq.Load() != head+1 {
		return zero, false
	}
	v := s.val
	s.val = zero
	s.seq.Store(head + q.mask + 1)
	q.head.Store(head + 1)
	q.notFull.notify()
	return v, true
}

// TryPopBatch removes up to len(dst) of the oldest items into dst, in
// order, and returns how many.
func (q *SPSC[T]) TryPopBatch(dst []T) int {
	head := q.head.Load()
	n := 0
	for n < len(dst) && n <= int(q.mask) && q.slots[(head+uint64(n))&q.mask].seq.Load() == head+uint64(n)+1 {
		n++
	}
	if n == 0 {
		return 0
	}
	var zero T
	for i := range n {
		s := &q.slots[(head+uint64(i))&q.mask]
		dst[i] = s.val
		s.val = zero
		s.seq.Store(head + uint64(i) + q.mask + 1)
	}
	q.head.Store(head + uint64(n))
	q.notFull.notify()
	return n
}

// drained reports whether the queue is closed and empty. It reads the
// producer's position only once the queue is closed.
func (q *SPSC[T]) drained() bool {
	if !q.closed.Load() {
		return false
	}
	return q.head.Load() >= q.tail.Load()&^closedBit
}

// Push adds v, waiting while the queue is full. It returns ErrClosed if
// the queue is closed, or ctx's error if ctx ends first.
func (q *SPSC[T]) Push(ctx context.Context, v T) error {
	var err error
	werr := block(ctx, &q.notFull, func() bool {
		if q.TryPush(v) {
			return true
		}
		if q.tail.Load()&closedBit != 0 {
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

// Pop removes and returns the oldest item, waiting while the queue is
// empty. It returns ErrClosed once the queue is closed and empty, or ctx's
// error if ctx ends first.
func (q *SPSC[T]) Pop(ctx context.Context) (T, error) {
	var v T
	var err error
	werr := block(ctx, &q.notEmpty, func() bool {
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

// PushBatch adds every item of vs in order, waiting for room as needed.
// It returns how many it pushed, with ErrClosed if the queue was closed
// first or ctx's error if ctx ended first.
func (q *SPSC[T]) PushBatch(ctx context.Context, vs []T) (int, error) {
	done := 0
	var err error
	werr := block(ctx, &q.notFull, func() bool {
		done += q.TryPushBatch(vs[done:])
		if done == len(vs) {
			return true
		}
		if q.tail.Load()&closedBit != 0 {
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

// PopBatch removes up to len(dst) of the oldest items into dst, waiting
// until there is at least one. It returns how many, with ErrClosed once
// the queue is closed and empty, or ctx's error if ctx ends first.
func (q *SPSC[T]) PopBatch(ctx context.Context, dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	n := 0
	var err error
	werr := block(ctx, &q.notEmpty, func() bool {
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
