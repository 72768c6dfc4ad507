package benchmarks

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	workiva "github.com/Workiva/go-datastructures/queue"
	"github.com/hedzr/go-ringbuf/v2/mpmc"
	"github.com/smarty/go-disruptor"

	"github.com/otlpgo/otlpgo/ringbuffer"
)

// BenchmarkQueue moves b.N int64 items from producers to consumers through
// each queue, with the same capacity (1024), and reports time per item.
// Blocking calls are used where a queue has them; hedzr/go-ringbuf has
// only non-blocking ones, retried with runtime.Gosched as its examples do.
// go-disruptor delivers to one handler goroutine, so it runs with one
// consumer; SPSC with one producer too.
func BenchmarkQueue(b *testing.B) {
	for _, impl := range []string{"otlpgo-mpmc", "otlpgo-spsc", "chan", "workiva", "hedzr-ringbuf", "disruptor"} {
		for _, pc := range [][2]int{{1, 1}, {2, 2}} {
			if pc != [2]int{1, 1} && (impl == "otlpgo-spsc" || impl == "disruptor") {
				continue
			}
			b.Run("impl="+impl+"/producers="+strconv.Itoa(pc[0])+"/consumers="+strconv.Itoa(pc[1]), func(b *testing.B) {
				b.ReportAllocs()
				run(b, impl, pc[0], pc[1])
			})
		}
	}
}

const capacity = 1024

// share returns producer p's share of n items.
func share(n, producers, p int) int {
	s := n / producers
	if p < n%producers {
		s++
	}
	return s
}

func run(b *testing.B, impl string, producers, consumers int) {
	ctx := context.Background()
	var push func(v int64)
	var consume func() // runs until all b.N items are taken
	var finish func()  // after the producers: lets the consumers end
	var taken atomic.Int64
	var stop atomic.Bool
	var lost int64
	n := int64(b.N)

	switch impl {
	case "otlpgo-mpmc", "otlpgo-spsc":
		var pushQ func(context.Context, int64) error
		var popQ func(context.Context) (int64, error)
		if impl == "otlpgo-mpmc" {
			q := ringbuffer.NewMPMC[int64](capacity)
			pushQ, popQ, finish = q.Push, q.Pop, q.Close
		} else {
			q := ringbuffer.NewSPSC[int64](capacity)
			pushQ, popQ, finish = q.Push, q.Pop, q.Close
		}
		push = func(v int64) { _ = pushQ(ctx, v) }
		consume = func() {
			for {
				if _, err := popQ(ctx); errors.Is(err, ringbuffer.ErrClosed) {
					return
				}
			}
		}
	case "chan":
		ch := make(chan int64, capacity)
		push = func(v int64) { ch <- v }
		consume = func() {
			for range ch {
			}
		}
		finish = func() { close(ch) }
	case "workiva":
		q := workiva.NewRingBuffer(capacity)
		push = func(v int64) { _ = q.Put(v) }
		consume = func() {
			for {
				if _, err := q.Get(); err != nil { // disposed
					return
				}
				if taken.Add(1) == n {
					q.Dispose()
					return
				}
			}
		}
		finish = func() {}
	case "hedzr-ringbuf":
		q := mpmc.New[int64](capacity)
		push = func(v int64) {
			for q.Enqueue(v) != nil {
				if stop.Load() {
					return
				}
				runtime.Gosched()
			}
		}
		consume = func() {
			for taken.Load() < n && !stop.Load() {
				if _, err := q.Dequeue(); err != nil {
					runtime.Gosched()
					continue
				}
				taken.Add(1)
			}
		}
		// Seen here: now and then the consumers never receive every item
		// (its Enqueue ignores a failed compare-and-swap of the tail), and
		// the run would hang. Give up after a grace period and say so.
		finish = func() {
			deadline := time.Now().Add(5 * time.Second)
			for taken.Load() < n && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if taken.Load() < n {
				stop.Store(true)
				lost = n - taken.Load()
			}
		}
	case "disruptor":
		ring := make([]int64, capacity)
		var sum int64
		d, err := disruptor.New(
			disruptor.Options.BufferCapacity(capacity),
			disruptor.Options.WriterCount(1),
			disruptor.Options.NewHandlerGroup(handler(func(lo, hi int64) {
				for s := lo; s <= hi; s++ {
					sum += ring[s&(capacity-1)]
				}
			})))
		if err != nil {
			b.Fatal(err)
		}
		push = func(v int64) {
			s := d.Reserve(1)
			ring[s&(capacity-1)] = v
			d.Commit(s, s)
		}
		consume = d.Listen
		finish = func() { _ = d.Close() }
	}

	var cwg, pwg sync.WaitGroup
	for range consumers {
		cwg.Go(consume)
	}
	b.ResetTimer()
	for p := range producers {
		pwg.Go(func() {
			for i := range share(b.N, producers, p) {
				push(int64(i))
			}
		})
	}
	pwg.Wait()
	finish()
	cwg.Wait()
	// Reported, not failed, so that the comparison still runs.
	b.ReportMetric(float64(lost), "lost-items")
	if lost > 0 {
		b.Logf("%s: %d of %d items never reached a consumer", impl, lost, n)
	}
}

// handler adapts a function to disruptor.Handler.
type handler func(lo, hi int64)

func (h handler) Handle(lo, hi int64) { h(lo, hi) }
