package ringbuffer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/otlpgo/otlpgo/ringbuffer"
)

// Producers push, a consumer pops until the queue is closed and drained.
func Example() {
	ctx := context.Background()
	q := ringbuffer.NewMPMC[int](8)

	var producers sync.WaitGroup
	for p := range 3 {
		producers.Go(func() {
			for i := range 4 {
				if err := q.Push(ctx, p*10+i); err != nil { // waits while full
					return // ctx ended or the queue was closed
				}
			}
		})
	}
	go func() {
		producers.Wait()
		q.Close() // no more pushes; what is queued can still be popped
	}()

	sum, n := 0, 0
	for {
		v, err := q.Pop(ctx) // waits while empty
		if errors.Is(err, ringbuffer.ErrClosed) {
			break
		}
		sum += v
		n++
	}
	fmt.Println(n, "items, sum", sum)
	// Output: 12 items, sum 138
}

// TryPush and TryPop never wait: they report full and empty instead.
func ExampleMPMC() {
	q := ringbuffer.NewMPMC[string](2)
	fmt.Println(q.TryPush("a"), q.TryPush("b"), q.TryPush("c")) // the third finds it full
	v, ok := q.TryPop()
	fmt.Println(v, ok, q.Len(), q.Cap())
	// Output:
	// true true false
	// a true 1 2
}

// One producer and one consumer move batches: one atomic store publishes
// each batch.
func ExampleSPSC() {
	ctx := context.Background()
	q := ringbuffer.NewSPSC[int](16)
	go func() {
		_, _ = q.PushBatch(ctx, []int{1, 2, 3, 4, 5})
		q.Close()
	}()
	buf := make([]int, 4)
	var got []int
	for {
		n, err := q.PopBatch(ctx, buf) // up to len(buf), at least one
		if errors.Is(err, ringbuffer.ErrClosed) {
			break
		}
		got = append(got, buf[:n]...)
	}
	fmt.Println(got)
	// Output: [1 2 3 4 5]
}
