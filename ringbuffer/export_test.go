package ringbuffer

import "fmt"

// Parked returns how many goroutines are registered to wait on q.
func (q *MPMC[T]) Parked() int { return int(q.notFull.waiters.Load() + q.notEmpty.waiters.Load()) }

// Parked returns how many goroutines are registered to wait on q.
func (q *SPSC[T]) Parked() int { return int(q.notFull.waiters.Load() + q.notEmpty.waiters.Load()) }

// CheckInvariants reports a broken invariant of a quiet MPMC: positions in
// order and at most a capacity apart, and every slot's sequence number
// saying free or full consistently with them.
func (q *MPMC[T]) CheckInvariants() error {
	if q.slots == nil {
		return nil
	}
	deq, enq := q.deqPos.Load(), q.enqPos.Load()&^closedBit
	if deq > enq || enq-deq > uint64(len(q.slots)) {
		return fmt.Errorf("positions deq %d enq %d, capacity %d", deq, enq, len(q.slots))
	}
	for pos := enq - uint64(len(q.slots)); pos < enq; pos++ {
		if pos+uint64(len(q.slots)) < uint64(len(q.slots)) {
			continue // before the first lap
		}
		seq := q.slots[pos&q.mask].seq.Load()
		switch {
		case pos >= deq && seq != pos+1:
			return fmt.Errorf("slot of full position %d has seq %d", pos, seq)
		case pos < deq && seq != pos+uint64(len(q.slots)):
			return fmt.Errorf("slot of emptied position %d has seq %d", pos, seq)
		}
	}
	return nil
}

// CheckInvariants reports a broken invariant of a quiet SPSC: positions in
// order, at most a capacity apart, and cached copies never ahead of the
// positions they copy.
func (q *SPSC[T]) CheckInvariants() error {
	head, tail := q.head.Load(), q.tail.Load()&^closedBit
	if head > tail || tail-head > uint64(len(q.slots)) {
		return fmt.Errorf("positions head %d tail %d, capacity %d", head, tail, len(q.slots))
	}
	if q.headCache > head {
		return fmt.Errorf("cache ahead: headCache %d > head %d", q.headCache, head)
	}
	pos := max(head, q.readyEnd)
	for pos < tail {
		i := pos & q.mask
		switch seq := q.slots[i].seq.Load(); {
		case seq == pos+1:
			pos++
		case seq == (pos+1)|batchMark && q.counts[i] > 0:
			pos += q.counts[i]
		default:
			return fmt.Errorf("publication at position %d marked %x with count %d", pos, seq, q.counts[i])
		}
	}
	if pos != max(tail, q.readyEnd) {
		return fmt.Errorf("publications end at %d, tail is %d", pos, tail)
	}
	return nil
}
