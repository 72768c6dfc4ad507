package ringbuffer_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/ringbuffer"
)

// queue is what MPMC and SPSC have in common, so that each test runs on
// both.
type queue interface {
	TryPush(int) bool
	TryPop() (int, bool)
	TryPushBatch([]int) int
	TryPopBatch([]int) int
	Push(context.Context, int) error
	Pop(context.Context) (int, error)
	PushBatch(context.Context, []int) (int, error)
	PopBatch(context.Context, []int) (int, error)
	Len() int
	Cap() int
	Close()
	Parked() int
	CheckInvariants() error
}

var (
	_ queue = (*ringbuffer.MPMC[int])(nil)
	_ queue = (*ringbuffer.SPSC[int])(nil)
)

var kinds = []struct {
	name string
	make func(capacity int) queue
}{
	{"mpmc", func(c int) queue { return ringbuffer.NewMPMC[int](c) }},
	{"spsc", func(c int) queue { return ringbuffer.NewSPSC[int](c) }},
}

// checkInvariants asserts what holds of a quiet queue against its model.
func checkInvariants(t testing.TB, q queue, model []int) {
	t.Helper()
	if q.Len() != len(model) || q.Len() > q.Cap() {
		t.Fatalf("Len %d, model holds %d, Cap %d", q.Len(), len(model), q.Cap())
	}
	if err := q.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestCapacityRoundsUpToAPowerOfTwo(t *testing.T) {
	for _, k := range kinds {
		for c, want := range map[int]int{1: 2, 2: 2, 3: 4, 1000: 1024, 1024: 1024} {
			if got := k.make(c).Cap(); got != want {
				t.Errorf("%s: capacity %d rounds to %d, want %d", k.name, c, got, want)
			}
		}
		for _, bad := range []int{0, -1, 1<<30 + 1} {
			func() {
				defer func() {
					if r := recover(); r == nil {
						t.Errorf("%s: capacity %d accepted", k.name, bad)
					}
				}()
				k.make(bad)
			}()
		}
	}
}

// TestAgainstModel runs random single-goroutine operations on each queue
// and on a slice, and compares every result.
func TestAgainstModel(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 3))
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			for round := range 200 {
				q := k.make(1 + rng.IntN(16))
				var model []int
				closed := false
				next := 0
				buf := make([]int, 40)
				for range 200 {
					switch op := rng.IntN(10); {
					case op < 3:
						ok := q.TryPush(next)
						want := !closed && len(model) < q.Cap()
						if ok != want {
							t.Fatalf("round %d: TryPush(%d) = %v, model says %v (len %d, cap %d, closed %v)", round, next, ok, want, len(model), q.Cap(), closed)
						}
						if ok {
							model = append(model, next)
						}
						next++
					case op < 6:
						v, ok := q.TryPop()
						if ok != (len(model) > 0) || (ok && v != model[0]) {
							t.Fatalf("round %d: TryPop = %d, %v; model %v", round, v, ok, model)
						}
						if ok {
							model = model[1:]
						}
					case op < 8:
						n := rng.IntN(len(buf))
						vs := make([]int, n)
						for i := range vs {
							vs[i] = next + i
						}
						got := q.TryPushBatch(vs)
						want := 0
						if !closed {
							want = min(n, q.Cap()-len(model))
						}
						if got != want {
							t.Fatalf("round %d: TryPushBatch(%d items) = %d, want %d", round, n, got, want)
						}
						model = append(model, vs[:got]...)
						next += n
					case op == 8:
						n := rng.IntN(len(buf))
						got := q.TryPopBatch(buf[:n])
						want := min(n, len(model))
						if got != want || !slices.Equal(buf[:got], model[:want]) {
							t.Fatalf("round %d: TryPopBatch(%d) = %v, model %v", round, n, buf[:got], model[:want])
						}
						model = model[want:]
					default:
						switch rng.IntN(10) {
						case 0:
							q.Close()
							closed = true
						case 1, 2, 3, 4:
							// Push with an ended context: it pushes if it
							// can, else says why not, without waiting.
							err := q.Push(cancelled, next)
							var want error
							switch {
							case closed:
								want = ringbuffer.ErrClosed
							case len(model) == q.Cap():
								want = context.Canceled
							}
							if !errors.Is(err, want) || (want == nil && err != nil) {
								t.Fatalf("round %d: Push(%d) = %v, want %v", round, next, err, want)
							}
							if err == nil {
								model = append(model, next)
							}
							next++
						default:
							v, err := q.Pop(cancelled)
							switch {
							case len(model) > 0:
								if err != nil || v != model[0] {
									t.Fatalf("round %d: Pop = %d, %v; model %v", round, v, err, model)
								}
								model = model[1:]
							case closed:
								if !errors.Is(err, ringbuffer.ErrClosed) {
									t.Fatalf("round %d: Pop of a closed, empty queue = %v", round, err)
								}
							default:
								if !errors.Is(err, context.Canceled) {
									t.Fatalf("round %d: Pop of an empty queue with an ended context = %v", round, err)
								}
							}
						}
					}
					checkInvariants(t, q, model)
				}
			}
		})
	}
}

func TestCloseDrainsThenReportsClosed(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds {
		q := k.make(4)
		for i := range 3 {
			if err := q.Push(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		q.Close()
		q.Close() // harmless
		if err := q.Push(ctx, 9); !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: Push after Close = %v, want ErrClosed", k.name, err)
		}
		if n, err := q.PushBatch(ctx, []int{9, 9}); n != 0 || !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: PushBatch after Close = %d, %v", k.name, n, err)
		}
		for i := range 3 {
			if v, err := q.Pop(ctx); v != i || err != nil {
				t.Fatalf("%s: Pop after Close = %d, %v; want %d", k.name, v, err, i)
			}
		}
		if _, err := q.Pop(ctx); !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: Pop of a closed, empty queue = %v, want ErrClosed", k.name, err)
		}
		if n, err := q.PopBatch(ctx, make([]int, 4)); n != 0 || !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: PopBatch of a closed, empty queue = %d, %v", k.name, n, err)
		}
	}
}

func TestBlockedCallsWakeOnCloseAndContext(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			q := k.make(2)
			ctx := context.Background()
			// A Pop blocked on an empty queue returns ErrClosed on Close.
			popped := make(chan error)
			go func() { _, err := q.Pop(ctx); popped <- err }()
			waitParked(t, q, func() { q.Close() })
			if err := <-popped; !errors.Is(err, ringbuffer.ErrClosed) {
				t.Errorf("blocked Pop after Close: %v, want ErrClosed", err)
			}

			// A Push blocked on a full queue returns ErrClosed on Close.
			q = k.make(2)
			q.TryPush(1)
			q.TryPush(2)
			pushed := make(chan error)
			go func() { pushed <- q.Push(ctx, 3) }()
			waitParked(t, q, func() { q.Close() })
			if err := <-pushed; !errors.Is(err, ringbuffer.ErrClosed) {
				t.Errorf("blocked Push after Close: %v, want ErrClosed", err)
			}

			// Blocked calls return the context's error when it ends.
			q = k.make(2)
			cctx, cancel := context.WithCancel(ctx)
			go func() { _, err := q.Pop(cctx); popped <- err }()
			waitParked(t, q, cancel)
			if err := <-popped; !errors.Is(err, context.Canceled) {
				t.Errorf("blocked Pop after cancel: %v, want context.Canceled", err)
			}

			// A blocked Push completes when room appears.
			q = k.make(2)
			q.TryPush(1)
			q.TryPush(2)
			go func() { pushed <- q.Push(ctx, 3) }()
			waitParked(t, q, func() {
				if v, ok := q.TryPop(); !ok || v != 1 {
					t.Errorf("TryPop = %d, %v", v, ok)
				}
			})
			if err := <-pushed; err != nil {
				t.Errorf("blocked Push after room appeared: %v", err)
			}
			if got := drain(q); !slices.Equal(got, []int{2, 3}) {
				t.Errorf("queue holds %v, want [2 3]", got)
			}
		})
	}
}

// waitParked waits until a goroutine has registered to park on q, then
// acts. Registration comes just before parking; acting in between only
// exercises the re-check that follows registration, with the same outcome.
func waitParked(t *testing.T, q queue, act func()) {
	t.Helper()
	for q.Parked() == 0 {
		runtime.Gosched()
	}
	act()
}

func drain(q queue) []int {
	var out []int
	for {
		v, ok := q.TryPop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func TestOperationsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds {
		q := k.make(64)
		batch := make([]int, 16)
		n := testing.AllocsPerRun(1000, func() {
			q.TryPush(1)
			q.TryPop()
			_ = q.Push(ctx, 2)
			_, _ = q.Pop(ctx)
			q.TryPushBatch(batch)
			q.TryPopBatch(batch)
			_, _ = q.PushBatch(ctx, batch)
			_, _ = q.PopBatch(ctx, batch)
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per round of operations, want 0", k.name, n)
		}
	}
}

// TestExactlyOnceConcurrentSafe pushes distinct items from several
// producers and pops them with several consumers (one and one for SPSC),
// through the blocking and batch calls, and checks every item came out
// exactly once and each producer's items in order.
func TestExactlyOnceConcurrentSafe(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			producers, consumers := 4, 4
			if k.name == "spsc" {
				producers, consumers = 1, 1
			}
			const perProducer = 5000
			q := k.make(8)
			ctx := context.Background()
			var sum, count atomic.Int64
			var wg sync.WaitGroup
			var pwg sync.WaitGroup
			for p := range producers {
				pwg.Go(func() {
					batch := []int{}
					for i := range perProducer {
						v := p*perProducer + i
						if i%3 == 0 { // a third through PushBatch
							batch = append(batch, v)
							if len(batch) == 4 || i == perProducer-1 {
								if _, err := q.PushBatch(ctx, batch); err != nil {
									t.Error(err)
									return
								}
								batch = batch[:0]
							}
							continue
						}
						if len(batch) > 0 { // keep this producer's order
							if _, err := q.PushBatch(ctx, batch); err != nil {
								t.Error(err)
								return
							}
							batch = batch[:0]
						}
						if err := q.Push(ctx, v); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			seen := make([][]int, consumers)
			for c := range consumers {
				wg.Go(func() {
					buf := make([]int, 5)
					for {
						if c%2 == 0 {
							n, err := q.PopBatch(ctx, buf)
							if errors.Is(err, ringbuffer.ErrClosed) {
								return
							}
							for _, v := range buf[:n] {
								seen[c] = append(seen[c], v)
								sum.Add(int64(v))
								count.Add(1)
							}
							continue
						}
						v, err := q.Pop(ctx)
						if errors.Is(err, ringbuffer.ErrClosed) {
							return
						}
						seen[c] = append(seen[c], v)
						sum.Add(int64(v))
						count.Add(1)
					}
				})
			}
			pwg.Wait()
			q.Close()
			wg.Wait()
			total := producers * perProducer
			seenOnce := make([]bool, total)
			for _, vs := range seen {
				for _, v := range vs {
					if seenOnce[v] {
						t.Fatalf("item %d popped twice", v)
					}
					seenOnce[v] = true
				}
			}
			for v, ok := range seenOnce {
				if !ok {
					t.Fatalf("item %d never popped", v)
				}
			}
			if count.Load() != int64(total) || sum.Load() != int64(total*(total-1)/2) {
				t.Fatalf("popped %d items summing to %d, want %d summing to %d", count.Load(), sum.Load(), total, total*(total-1)/2)
			}
			// Each consumer sees each producer's items in increasing order.
			for c, vs := range seen {
				last := make([]int, producers)
				for i := range last {
					last[i] = -1
				}
				for _, v := range vs {
					p := v / perProducer
					if v <= last[p] {
						t.Fatalf("consumer %d saw %d after %d from producer %d", c, v, last[p], p)
					}
					last[p] = v
				}
			}
		})
	}
}

func TestZeroQueuesAreClosed(t *testing.T) {
	ctx := context.Background()
	for name, q := range map[string]queue{"mpmc": &ringbuffer.MPMC[int]{}, "spsc": &ringbuffer.SPSC[int]{}} {
		if q.TryPush(1) || q.TryPushBatch([]int{1}) != 0 || q.Cap() != 0 || q.Len() != 0 {
			t.Errorf("%s: zero queue accepted a push or reports a size", name)
		}
		if _, ok := q.TryPop(); ok || q.TryPopBatch(make([]int, 2)) != 0 {
			t.Errorf("%s: zero queue popped", name)
		}
		if err := q.Push(ctx, 1); !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: zero queue Push = %v, want ErrClosed", name, err)
		}
		if _, err := q.Pop(ctx); !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: zero queue Pop = %v, want ErrClosed", name, err)
		}
		if n, err := q.PushBatch(ctx, []int{1}); n != 0 || !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: zero queue PushBatch = %d, %v", name, n, err)
		}
		if n, err := q.PopBatch(ctx, make([]int, 1)); n != 0 || !errors.Is(err, ringbuffer.ErrClosed) {
			t.Errorf("%s: zero queue PopBatch = %d, %v", name, n, err)
		}
		q.Close()
	}
}

func TestBlockedPushHonoursContext(t *testing.T) {
	for _, k := range kinds {
		q := k.make(2)
		q.TryPush(1)
		q.TryPush(2)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { _, err := q.PushBatch(ctx, []int{3, 4}); done <- err }()
		waitParked(t, q, cancel)
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("%s: blocked PushBatch after cancel: %v", k.name, err)
		}
		if n, err := q.PopBatch(context.Background(), nil); n != 0 || err != nil {
			t.Errorf("%s: PopBatch into an empty slice = %d, %v; want 0, nil", k.name, n, err)
		}
		if got := drain(q); !slices.Equal(got, []int{1, 2}) {
			t.Errorf("%s: queue holds %v after the cancelled push, want [1 2]", k.name, got)
		}
	}
}

// TestCloseWhilePushingConcurrentSafe closes the queue while producers are
// pushing: every push that succeeded is popped exactly once, and none
// succeeds after Close returned.
func TestCloseWhilePushingConcurrentSafe(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			producers := 3
			if k.name == "spsc" {
				producers = 1
			}
			q := k.make(4)
			ctx := context.Background()
			var accepted sync.Map
			var closed atomic.Bool
			var lateAccepts atomic.Int64
			var pwg, cwg sync.WaitGroup
			for p := range producers {
				pwg.Go(func() {
					for i := 0; ; i++ {
						v := p*1_000_000 + i
						wasClosed := closed.Load()
						if err := q.Push(ctx, v); err != nil {
							return
						}
						accepted.Store(v, true)
						if wasClosed {
							lateAccepts.Add(1)
						}
					}
				})
			}
			popped := map[int]int{}
			cwg.Go(func() {
				for {
					v, err := q.Pop(ctx)
					if err != nil {
						return
					}
					popped[v]++
				}
			})
			for i := 0; i < 1000 && q.Len() == 0; i++ { // let the producers get going
				runtime.Gosched()
			}
			q.Close()
			closed.Store(true)
			pwg.Wait()
			cwg.Wait()
			if n := lateAccepts.Load(); n != 0 {
				t.Errorf("%d pushes started after Close returned and succeeded", n)
			}
			accepted.Range(func(k, _ any) bool {
				if popped[k.(int)] != 1 {
					t.Errorf("accepted item %d popped %d times", k, popped[k.(int)])
				}
				return true
			})
			for v, n := range popped {
				if _, ok := accepted.Load(v); !ok || n != 1 {
					t.Errorf("item %d popped %d times, accepted %v", v, n, ok)
				}
			}
		})
	}
}

// TestParkingDoesNotAllocate parks a consumer on an empty queue and wakes
// it with one item, again and again: nothing is allocated per cycle.
func TestParkingDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds {
		q := k.make(4)
		var got atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := q.Pop(ctx); err != nil {
					return
				}
				got.Add(1)
			}
		}()
		var sent int64
		allocs := testing.AllocsPerRun(200, func() {
			for q.Parked() == 0 {
				runtime.Gosched()
			}
			q.TryPush(1)
			sent++
			for got.Load() < sent {
				runtime.Gosched()
			}
		})
		q.Close()
		<-done
		if allocs != 0 {
			t.Errorf("%s: %v allocations per park and wake, want 0", k.name, allocs)
		}
	}
}
