// Package ringbuffer provides bounded, lock-free, generic queues: [MPMC]
// for many producers and many consumers, and [SPSC] for exactly one of
// each, faster still.
//
//	q := ringbuffer.NewMPMC[Order](1024)
//	if err := q.Push(ctx, o); err != nil { // blocks while full
//		return err // ctx ended, or ErrClosed
//	}
//	o, err := q.Pop(ctx) // blocks while empty
//
// Both are arrays of slots indexed by ever-increasing positions (capacity
// rounded up to a power of two), with the producer and consumer positions
// on separate cache lines. [MPMC] follows Dmitry Vyukov's bounded MPMC
// queue: each slot carries a sequence number that says whether it is free
// for the producer of a given lap or full for its consumer, so producers
// and consumers claim positions with one compare-and-swap each and never
// take a lock. [SPSC] needs no compare-and-swap at all: one atomic store
// publishes an item, or a whole batch.
//
// # Waiting
//
// TryPush and TryPop never park; MPMC's may yield while another goroutine
// finishes with a slot it claimed. Push and Pop wait: first by spinning a
// little (not at all with GOMAXPROCS=1), then by yielding the processor,
// then by parking on a channel until the other side makes progress, Close
// is called, or the context ends. A consumer blocked on an empty queue
// uses no CPU, unlike queues that spin while idle. The other side pays one
// atomic load per operation to see there is nobody to wake, and a
// non-blocking channel send when there is; parking and waking allocate
// nothing.
//
// # Closing
//
// Close stops new pushes: Push returns [ErrClosed] and TryPush false.
// Items already in the queue are not lost: Pop returns them, then
// ErrClosed once the queue is empty.
//
// # What does not belong here
//
// Unbounded queues, priority queues and queues that drop old items belong
// elsewhere. Telemetry does too: these queues sit on hot paths where even
// a disabled instrument costs too much; instrument the code around them.
package ringbuffer
