package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/panics"
)

// fault is what a fuzzed pipeline does at one item: nothing, fail, panic,
// or (at the sink only) cancel the caller's context.
type fault uint8

const (
	faultNone fault = iota
	faultError
	faultPanic
	faultCancel
)

// armed is one place of a fuzzed pipeline that misbehaves at item at.
type armed struct {
	kind fault
	at   int
}

func (a armed) fires(idx int) bool { return a.kind != faultNone && a.at == idx }

// fuzzPlan is a pipeline decoded from fuzz input: items, stages with
// their workers, and where each stage, the source and the sink misbehave.
type fuzzPlan struct {
	items   int
	workers []int
	stages  []armed
	source  armed
	sink    armed
}

// decodePlan reads a plan from data; missing bytes read as zero, so that
// every input is a plan.
func decodePlan(data []byte) fuzzPlan {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	p := fuzzPlan{items: next() % 48}
	nstages := 1 + next()%3
	for range nstages {
		p.workers = append(p.workers, 1+next()%4)
		p.stages = append(p.stages, armed{fault(next() % 4 % 3), next() % 64}) // no cancel in a stage
	}
	p.source = armed{fault(next() % 4), next() % 64}
	if p.source.kind != faultPanic {
		p.source.kind = faultNone // a source can only panic (or not)
	}
	p.sink = armed{fault(next() % 5 % 4), next() % 64}
	return p
}

type item struct{ idx, val int }

var errFuzz = errors.New("fuzz: injected failure")

// step is stage i's function on a value: something that depends on the
// stage, so that a skipped or repeated stage shows.
func step(i, v int) int { return v*3 + i + 1 }

// FuzzPipeline runs a pipeline decoded from the input (0 to 47 items, 1
// to 3 stages of 1 to 4 workers, and a failure, panic or cancellation at
// some item of a stage, the source or the sink) and checks it against a
// sequential reference: with nothing armed (or armed beyond the last
// item), every item comes out once, transformed by every stage, and in
// order when every stage has one worker; with something armed, one of
// the armed failures is returned with the right type, the sink saw only
// correct values, none twice, and none after it failed. In every case no
// goroutine is left behind.
func FuzzPipeline(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 0, 0, 0, 0, 0})                   // 10 items, one stage, one worker
	f.Add([]byte{47, 2, 3, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0}) // three stages, 4, 2, 3 workers
	f.Add([]byte{20, 1, 1, 1, 5, 2, 2, 7, 0, 0, 0, 0})          // stage errors at 5, stage panics at 7
	f.Add([]byte{20, 0, 0, 0, 0, 2, 3, 0, 0})                   // the source panics at 3
	f.Add([]byte{20, 0, 0, 0, 0, 0, 0, 1, 4})                   // the sink fails at 4
	f.Add([]byte{20, 0, 3, 0, 0, 0, 0, 2, 4})                   // the sink panics at 4
	f.Add([]byte{30, 1, 2, 0, 0, 1, 0, 0, 0, 0, 0, 3, 9})       // the caller cancels at 9
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 0, 0})                    // nothing to do
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decodePlan(data)
		base := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		src := func(yield func(item) bool) {
			for i := range p.items {
				if p.source.fires(i) {
					panic("fuzz: source")
				}
				if !yield(item{i, i}) {
					return
				}
			}
		}
		var stage concurrency.Stage[item, item]
		for i, w := range p.workers {
			s, err := concurrency.NewStage(fmt.Sprint("s", i), w, func(_ context.Context, v item) (item, error) {
				if p.stages[i].fires(v.idx) {
					if p.stages[i].kind == faultPanic {
						panic("fuzz: stage")
					}
					return v, errFuzz
				}
				return item{v.idx, step(i, v.val)}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				stage = s
			} else {
				stage = concurrency.Then(stage, s)
			}
		}
		var (
			mu       sync.Mutex // the sink runs on this goroutine; the lock documents that it is not shared
			got      []item
			sinkDone bool // the sink failed or cancelled: it must not be called again
		)
		err := concurrency.RunPipeline(ctx, src, stage, func(_ context.Context, v item) error {
			mu.Lock()
			defer mu.Unlock()
			if sinkDone && p.sink.kind != faultCancel {
				t.Errorf("the sink was called with %v after it failed", v)
			}
			got = append(got, v)
			if p.sink.fires(v.idx) {
				sinkDone = true
				switch p.sink.kind {
				case faultError:
					return errFuzz
				case faultPanic:
					panic("fuzz: sink")
				case faultCancel:
					cancel()
				}
			}
			return nil
		})

		// The reference: each item through every stage, in order.
		want := make([]item, p.items)
		for i := range want {
			want[i] = item{i, i}
			for s := range p.stages {
				want[i].val = step(s, want[i].val)
			}
		}
		seen := make([]bool, p.items)
		for _, v := range got {
			if v.idx < 0 || v.idx >= p.items || v != want[v.idx] || seen[v.idx] {
				t.Fatalf("the sink got %v (seen before: %v); want %v", v, v.idx >= 0 && v.idx < p.items && seen[v.idx], want)
			}
			seen[v.idx] = true
		}

		// Which armed faults can fire, and so which errors may come back.
		anyArmed := p.source.kind != faultNone && p.source.at < p.items ||
			p.sink.kind != faultNone && p.sink.at < p.items
		for _, s := range p.stages {
			anyArmed = anyArmed || s.kind != faultNone && s.at < p.items
		}
		if !anyArmed {
			if err != nil {
				t.Fatalf("nothing armed, RunPipeline = %v", err)
			}
			if len(got) != p.items {
				t.Fatalf("nothing armed, %d of %d items came out", len(got), p.items)
			}
			if slices.Max(append([]int{1}, p.workers...)) == 1 && !slices.Equal(got, want) {
				t.Fatalf("one worker a stage, out of order: %v", got)
			}
		} else {
			checkFuzzError(t, p, err)
		}

		// Nothing left running: RunPipeline waited for its goroutines,
		// which end right after they say they are done.
		for i := 0; runtime.NumGoroutine() > base; i++ {
			if i == 2000 {
				t.Fatalf("goroutines left: %v", goleak.Find())
			}
			time.Sleep(50 * time.Microsecond)
		}
	})
}

// checkFuzzError requires err to be one that an armed fault of p makes.
func checkFuzzError(t *testing.T, p fuzzPlan, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("a fault was armed (%+v), RunPipeline returned nil", p)
	}
	if errors.Is(err, context.Canceled) {
		if p.sink.kind != faultCancel {
			t.Fatalf("cancelled, with no cancellation armed: %v", err)
		}
		return
	}
	var se *concurrency.StageError
	if !errors.As(err, &se) {
		t.Fatalf("not a *StageError: %v", err)
	}
	var kind fault
	switch se.Stage {
	case "source":
		kind = p.source.kind
	case "sink":
		kind = p.sink.kind
	default:
		var i int
		if _, serr := fmt.Sscanf(se.Stage, "s%d", &i); serr != nil || i >= len(p.stages) {
			t.Fatalf("unknown stage in %v", err)
		}
		kind = p.stages[i].kind
	}
	var pe *panics.Error
	switch {
	case kind == faultPanic && errors.As(err, &pe) && len(pe.Stack) > 0:
	case kind == faultError && errors.Is(err, errFuzz):
	default:
		t.Fatalf("stage %s armed with fault %d returned %v", se.Stage, kind, err)
	}
}
