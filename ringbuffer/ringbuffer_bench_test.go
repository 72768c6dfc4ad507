package ringbuffer_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/otlpgo/otlpgo/ringbuffer"
)

// These benchmarks move b.N int64 items from producers to consumers and
// report the time per item. They use b.N rather than b.Loop because the
// work is split across goroutines.

const benchCap = 1024

type benchQueue struct {
	push      func(ctx context.Context, v int64) error
	pop       func(ctx context.Context) (int64, error)
	pushBatch func(ctx context.Context, vs []int64) error
	popBatch  func(ctx context.Context, dst []int64) (int, error)
	close     func()
}

func newBench(impl string) benchQueue {
	switch impl {
	case "mpmc":
		q := ringbuffer.NewMPMC[int64](benchCap)
		return benchQueue{q.Push, q.Pop, func(ctx context.Context, vs []int64) error { _, err := q.PushBatch(ctx, vs); return err }, q.PopBatch, q.Close}
	case "spsc":
		q := ringbuffer.NewSPSC[int64](benchCap)
		return benchQueue{q.Push, q.Pop, func(ctx context.Context, vs []int64) error { _, err := q.PushBatch(ctx, vs); return err }, q.PopBatch, q.Close}
	}
	ch := make(chan int64, benchCap)
	pop := func(context.Context) (int64, error) {
		v, ok := <-ch
		if !ok {
			return 0, ringbuffer.ErrClosed
		}
		return v, nil
	}
	return benchQueue{
		push: func(_ context.Context, v int64) error { ch <- v; return nil },
		pop:  pop,
		pushBatch: func(_ context.Context, vs []int64) error {
			for _, v := range vs { // a channel has no batch: one send each
				ch <- v
			}
			return nil
		},
		popBatch: func(ctx context.Context, dst []int64) (int, error) {
			v, err := pop(ctx)
			if err != nil {
				return 0, err
			}
			dst[0] = v
			n := 1
			for n < len(dst) {
				select {
				case v, ok := <-ch:
					if !ok {
						return n, nil
					}
					dst[n] = v
					n++
				default:
					return n, nil
				}
			}
			return n, nil
		},
		close: func() { close(ch) },
	}
}

// share returns producer p's share of n items.
func share(n, producers, p int) int {
	s := n / producers
	if p < n%producers {
		s++
	}
	return s
}

// BenchmarkQueue calls each queue directly (not through function values)
// and checks errors only when there is one, so that the harness adds as
// little as it can to what is measured.
func BenchmarkQueue(b *testing.B) {
	for _, impl := range []string{"mpmc", "spsc", "chan"} {
		for _, pc := range [][2]int{{1, 1}, {2, 1}, {1, 2}, {2, 2}} {
			if impl == "spsc" && pc != [2]int{1, 1} {
				continue // one producer and one consumer only
			}
			name := "impl=" + impl + "/producers=" + strconv.Itoa(pc[0]) + "/consumers=" + strconv.Itoa(pc[1])
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				var produce func(p int)
				var consume func()
				var done func()
				switch impl {
				case "mpmc":
					q := ringbuffer.NewMPMC[int64](benchCap)
					produce = func(p int) {
						for i := range share(b.N, pc[0], p) {
							if err := q.Push(ctx, int64(i)); err != nil {
								b.Error(err)
								return
							}
						}
					}
					consume = func() {
						for {
							if _, err := q.Pop(ctx); err != nil {
								return // ErrClosed: drained
							}
						}
					}
					done = q.Close
				case "spsc":
					q := ringbuffer.NewSPSC[int64](benchCap)
					produce = func(int) {
						for i := range b.N {
							if err := q.Push(ctx, int64(i)); err != nil {
								b.Error(err)
								return
							}
						}
					}
					consume = func() {
						for {
							if _, err := q.Pop(ctx); err != nil {
								return
							}
						}
					}
					done = q.Close
				default:
					ch := make(chan int64, benchCap)
					produce = func(p int) {
						for i := range share(b.N, pc[0], p) {
							ch <- int64(i)
						}
					}
					consume = func() {
						for range ch {
						}
					}
					done = func() { close(ch) }
				}
				var wg, pwg sync.WaitGroup
				for range pc[1] {
					wg.Go(consume)
				}
				b.ResetTimer()
				for p := range pc[0] {
					pwg.Go(func() { produce(p) })
				}
				pwg.Wait()
				done()
				wg.Wait()
			})
		}
	}
}

func BenchmarkQueueBatch(b *testing.B) {
	const batch = 64
	for _, impl := range []string{"mpmc", "spsc", "chan"} {
		b.Run("impl="+impl+"/producers=1/consumers=1/batch="+strconv.Itoa(batch), func(b *testing.B) {
			q := newBench(impl)
			ctx := context.Background()
			b.ReportAllocs()
			var wg sync.WaitGroup
			wg.Go(func() {
				dst := make([]int64, batch)
				for {
					if _, err := q.popBatch(ctx, dst); errors.Is(err, ringbuffer.ErrClosed) {
						return
					}
				}
			})
			vs := make([]int64, batch)
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				_ = q.pushBatch(ctx, vs[:min(batch, b.N-done)])
			}
			q.close()
			wg.Wait()
		})
	}
}
