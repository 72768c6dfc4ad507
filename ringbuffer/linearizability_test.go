package ringbuffer_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A linearizability checker for histories of TryPush and TryPop on a
// bounded FIFO queue, after Wing and Gong with Lowe's memoization (the
// algorithm porcupine implements): search for an order of the operations
// that respects real time (an operation that returned before another was
// called comes first) and in which a sequential queue of the same capacity
// gives every recorded result.

type event struct {
	push      bool
	value     int  // pushed, or popped when ok
	ok        bool // TryPush had room / TryPop found an item
	call, ret int64
	goroutine int
}

// linearizable reports whether the history has a valid linearization.
func linearizable(h []event, capacity int) bool {
	if len(h) > 32 {
		panic("history too long for the bitmask")
	}
	full := uint32(1)<<len(h) - 1
	failed := map[string]bool{}
	var search func(done uint32, state []int) bool
	search = func(done uint32, state []int) bool {
		if done == full {
			return true
		}
		key := fmt.Sprint(done, state)
		if failed[key] {
			return false
		}
		minRet := int64(1 << 62)
		for i, e := range h {
			if done&(1<<i) == 0 {
				minRet = min(minRet, e.ret)
			}
		}
		for i, e := range h {
			if done&(1<<i) != 0 || e.call > minRet {
				continue // done, or another pending operation returned before it began
			}
			next, consistent := apply(state, e, capacity)
			if consistent && search(done|1<<i, next) {
				return true
			}
		}
		failed[key] = true
		return false
	}
	return search(0, nil)
}

// apply runs e on a sequential queue in state and reports whether the
// queue would have given e's recorded result.
func apply(state []int, e event, capacity int) ([]int, bool) {
	if e.push {
		room := len(state) < capacity
		if e.ok != room {
			return nil, false
		}
		if room {
			return append(append([]int(nil), state...), e.value), true
		}
		return state, true
	}
	if len(state) == 0 {
		return state, !e.ok
	}
	return state[1:], e.ok && e.value == state[0]
}

// record runs each goroutine's script of operations on q at once and
// returns the timed history.
func record(q queue, scripts [][]bool) []event {
	var clock atomic.Int64
	var mu sync.Mutex
	var h []event
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g, script := range scripts {
		wg.Go(func() {
			<-start
			for i, push := range script {
				e := event{push: push, goroutine: g}
				e.call = clock.Add(1)
				if push {
					e.value = g*100 + i
					e.ok = q.TryPush(e.value)
				} else {
					e.value, e.ok = q.TryPop()
				}
				e.ret = clock.Add(1)
				mu.Lock()
				h = append(h, e)
				mu.Unlock()
				runtime.Gosched() // let the others interleave
			}
		})
	}
	close(start)
	wg.Wait()
	return h
}

func TestHistoriesAreLinearizable(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	const histories = 1000
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			for n := range histories {
				capacity := 2
				var scripts [][]bool
				if k.name == "spsc" {
					// One producer and one consumer, as SPSC requires.
					scripts = [][]bool{{true, true, true, true, true, true}, {false, false, false, false, false, false}}
				} else {
					scripts = make([][]bool, 3)
					for g := range scripts {
						for range 5 {
							scripts[g] = append(scripts[g], rng.IntN(2) == 0)
						}
					}
				}
				q := k.make(capacity)
				if h := record(q, scripts); !linearizable(h, q.Cap()) {
					t.Fatalf("history %d is not linearizable:\n%s", n, format(h))
				}
			}
		})
	}
}

// TestCheckerRejectsBadHistories makes sure the checker can fail.
func TestCheckerRejectsBadHistories(t *testing.T) {
	bad := map[string][]event{
		"popped before pushed": {
			{push: false, ok: true, value: 1, call: 1, ret: 2},
			{push: true, ok: true, value: 1, call: 3, ret: 4},
		},
		"FIFO order broken": {
			{push: true, ok: true, value: 1, call: 1, ret: 2},
			{push: true, ok: true, value: 2, call: 3, ret: 4},
			{push: false, ok: true, value: 2, call: 5, ret: 6},
		},
		"full while empty": {
			{push: true, ok: false, value: 1, call: 1, ret: 2},
		},
		"popped twice": {
			{push: true, ok: true, value: 1, call: 1, ret: 2},
			{push: false, ok: true, value: 1, call: 3, ret: 6},
			{push: false, ok: true, value: 1, call: 4, ret: 5},
		},
	}
	for name, h := range bad {
		if linearizable(h, 2) {
			t.Errorf("%s: accepted", name)
		}
	}
	// Overlapping operations may take effect in either order.
	good := []event{
		{push: true, ok: true, value: 1, call: 1, ret: 4},
		{push: false, ok: false, call: 2, ret: 3},
	}
	if !linearizable(good, 2) {
		t.Error("overlapping push and empty pop rejected")
	}
	// A recorded history of a stack, not a queue, is caught.
	if h := record(&stack{}, [][]bool{{true, true, false}}); linearizable(h, 2) {
		t.Errorf("a stack's history passed as a queue's:\n%s", format(h))
	}
}

// stack is a LIFO with the queue's TryPush and TryPop, to test the checker.
type stack struct {
	queue
	items []int
}

func (s *stack) TryPush(v int) bool { s.items = append(s.items, v); return true }

func (s *stack) TryPop() (int, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

func format(h []event) string {
	s := ""
	for _, e := range h {
		op := "TryPop"
		if e.push {
			op = "TryPush"
		}
		s += fmt.Sprintf("  g%d [%d,%d] %s %d -> %v\n", e.goroutine, e.call, e.ret, op, e.value, e.ok)
	}
	return s
}
