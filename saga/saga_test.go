package saga_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/saga"
)

// journal records what steps did, for assertions.
type journal struct {
	mu   sync.Mutex
	seen []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.seen = append(j.seen, s)
	j.mu.Unlock()
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.seen)
}

var errDeclined = errors.New("card declined")

// transfer is a three-step saga whose steps note their keys; fail makes
// step i fail permanently (or, with transient, fail once then succeed).
func transfer(j *journal, fail map[string]error) saga.Definition {
	step := func(name string) saga.Step {
		return saga.Step{
			Name: name,
			Action: func(_ context.Context, key string, _ []byte) error {
				if err := fail[name]; err != nil {
					if errs.IsPermanent(err) {
						return err
					}
					delete(fail, name) // transient: fails once
					return err
				}
				j.add("do " + short(key))
				return nil
			},
			Compensate: func(_ context.Context, key string, _ []byte) error {
				if err := fail["undo "+name]; err != nil {
					return err
				}
				j.add("undo " + short(key))
				return nil
			},
		}
	}
	return saga.Definition{Name: "transfer", Steps: []saga.Step{step("debit"), step("credit"), step("notify")}}
}

func newCoordinator(t testing.TB, log saga.Log, defs ...saga.Definition) *saga.Coordinator {
	t.Helper()
	c, err := saga.New(log, defs, saga.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompletesWithRetries(t *testing.T) {
	j := &journal{}
	c := newCoordinator(t, saga.NewMemoryLog(), transfer(j, map[string]error{"credit": errors.New("timeout")}))
	out, err := c.Run(context.Background(), "transfer", "t1", []byte(`{"cents":100}`))
	if out != saga.Completed || err != nil {
		t.Fatalf("Run = %v, %v", out, err)
	}
	if want := []string{"do t1/debit", "do t1/credit", "do t1/notify"}; !slices.Equal(j.list(), want) {
		t.Fatalf("steps %v, want %v", j.list(), want)
	}
}

func TestCompensatesInReverse(t *testing.T) {
	j := &journal{}
	c := newCoordinator(t, saga.NewMemoryLog(), transfer(j, map[string]error{"notify": errs.Permanent(errDeclined)}))
	out, err := c.Run(context.Background(), "transfer", "t2", nil)
	var se *saga.StepError
	if out != saga.Compensated || !errors.Is(err, errDeclined) || !errors.As(err, &se) || se.Step != "notify" || se.Outcome != saga.Compensated {
		t.Fatalf("Run = %v, %v", out, err)
	}
	want := []string{"do t2/debit", "do t2/credit", "undo t2/credit/compensate", "undo t2/debit/compensate"}
	if !slices.Equal(j.list(), want) {
		t.Fatalf("steps %v, want %v", j.list(), want)
	}
}

func TestStuckAfterTheBound(t *testing.T) {
	j := &journal{}
	log := saga.NewMemoryLog()
	fail := map[string]error{"notify": errs.Permanent(errDeclined), "undo debit": errors.New("ledger down")}
	c, err := saga.New(log, []saga.Definition{transfer(j, fail)}, saga.WithBackoff(1, 1), saga.WithCompensationAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Run(context.Background(), "transfer", "t3", nil)
	var se *saga.StepError
	if out != saga.Stuck || !errors.As(err, &se) || se.Step != "compensate debit" || !strings.Contains(err.Error(), "ledger down") {
		t.Fatalf("Run = %v, %v", out, err)
	}
	// Recover leaves a stuck saga alone; it stays in the log.
	if n, err := c.Recover(context.Background()); n != 0 || err != nil {
		t.Fatalf("Recover = %d, %v", n, err)
	}
	if recs, _ := log.Claim(context.Background()); len(recs) != 1 {
		t.Fatalf("%d sagas in the log, want the stuck one", len(recs))
	}
}

// failingLog fails every write after the first n, as a full disk would.
type failingLog struct {
	saga.Log
	n int
}

var errDiskFull = errors.New("disk full")

func (l *failingLog) Save(ctx context.Context, id string, s []byte) error {
	if l.n--; l.n < 0 {
		return errDiskFull
	}
	return l.Log.Save(ctx, id, s)
}

func TestRecoverFinishesWhatALogFailureStopped(t *testing.T) {
	for failAfter := range 5 {
		j := &journal{}
		mem := saga.NewMemoryLog()
		def := transfer(j, map[string]error{})
		c := newCoordinator(t, &failingLog{mem, failAfter}, def)
		out, err := c.Run(context.Background(), "transfer", "t4", nil)
		if failAfter < 3 {
			if out != 0 || !errors.Is(err, errDiskFull) {
				t.Fatalf("failAfter %d: Run = %v, %v", failAfter, out, err)
			}
		}
		// A fresh coordinator on the same log finishes it; steps done twice
		// get the same key.
		n, err := newCoordinator(t, mem, def).Recover(context.Background())
		if err != nil || (failAfter < 3 && n != 1) {
			t.Fatalf("failAfter %d: Recover = %d, %v", failAfter, n, err)
		}
		if recs, _ := mem.Claim(context.Background()); len(recs) != 0 {
			t.Fatalf("failAfter %d: %d sagas left", failAfter, len(recs))
		}
		seen := map[string]bool{}
		for _, s := range j.list() {
			seen[s] = true
		}
		if len(seen) != 3 || !seen["do t4/debit"] || !seen["do t4/notify"] {
			t.Fatalf("failAfter %d: steps %v", failAfter, j.list())
		}
	}
}

func TestErrors(t *testing.T) {
	ok := func(context.Context, string, []byte) error { return nil }
	for _, defs := range [][]saga.Definition{
		{{Name: "", Steps: []saga.Step{{Name: "a", Action: ok}}}},
		{{Name: "x"}},
		{{Name: "x", Steps: []saga.Step{{Name: "a"}}}},
		{{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}, {Name: "a", Action: ok}}}},
		{{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}}}, {Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}}}},
	} {
		if _, err := saga.New(saga.NewMemoryLog(), defs); !errors.Is(err, saga.ErrInvalidDefinition) {
			t.Errorf("New(%+v) = %v", defs, err)
		}
	}
	c := newCoordinator(t, saga.NewMemoryLog(), saga.Definition{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}}})
	if _, err := c.Run(context.Background(), "y", "1", nil); !errors.Is(err, saga.ErrUnknownSaga) {
		t.Errorf("unknown saga: %v", err)
	}
	block, inside := make(chan struct{}), make(chan struct{})
	slow := newCoordinator(t, saga.NewMemoryLog(), saga.Definition{Name: "x", Steps: []saga.Step{{Name: "a", Action: func(ctx context.Context, _ string, _ []byte) error {
		close(inside)
		<-block
		return nil
	}}}})
	done := make(chan struct{})
	go func() { _, _ = slow.Run(context.Background(), "x", "dup", nil); close(done) }()
	<-inside // the first saga is running
	if _, err := slow.Run(context.Background(), "x", "dup", nil); !errors.Is(err, saga.ErrDuplicateID) {
		t.Errorf("a second saga with the same ID: %v", err)
	}
	close(block)
	<-done
	var zero saga.Coordinator
	if _, err := zero.Run(context.Background(), "x", "1", nil); !errors.Is(err, saga.ErrNoLog) {
		t.Errorf("the zero Coordinator: %v", err)
	}
	for _, o := range []saga.Outcome{saga.Completed, saga.Compensated, saga.Stuck, 0} {
		if o.String() == "" {
			t.Error("unnamed outcome")
		}
	}
}

func TestCancelledContextLeavesTheSagaForRecover(t *testing.T) {
	mem := saga.NewMemoryLog()
	ctx, cancel := context.WithCancel(context.Background())
	var undone bool
	def := saga.Definition{Name: "x", Steps: []saga.Step{
		{Name: "a", Action: func(context.Context, string, []byte) error { return nil },
			Compensate: func(context.Context, string, []byte) error { undone = true; return nil }},
		{Name: "b", Action: func(ctx context.Context, _ string, _ []byte) error { cancel(); return ctx.Err() }},
	}}
	out, err := newCoordinator(t, mem, def).Run(ctx, "x", "c1", nil)
	if out != 0 || !errors.Is(err, context.Canceled) || undone {
		t.Fatalf("Run = %v, %v (compensated: %v)", out, err, undone)
	}
	if recs, _ := mem.Claim(context.Background()); len(recs) != 1 {
		t.Fatal("the saga is not in the log for Recover")
	}
}

// TestCoordinatorConcurrentSafe runs sagas from many goroutines on a
// bbolt log while Recover runs over and over: Recover must not drive a
// saga Run is driving (a step would run twice, and one of the two would
// find its record gone), and every saga ends as its steps say.
func TestCoordinatorConcurrentSafe(t *testing.T) {
	log, err := saga.OpenBoltLog(t.TempDir() + "/log.db")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	var mu sync.Mutex
	calls := map[string]int{}
	step := func(name string) saga.Step {
		return saga.Step{Name: name, Action: func(_ context.Context, key string, _ []byte) error {
			mu.Lock()
			calls[key]++
			mu.Unlock()
			if name == "ship" && strings.HasSuffix(short(key), "7/ship") {
				return errs.Permanent(errDeclined)
			}
			return nil
		}, Compensate: func(context.Context, string, []byte) error { return nil }}
	}
	c := newCoordinator(t, log, saga.Definition{Name: "order", Steps: []saga.Step{step("reserve"), step("charge"), step("ship")}})
	ctx := context.Background()
	stop := make(chan struct{})
	var recovering sync.WaitGroup
	recovering.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Recover(ctx); err != nil {
				t.Error(err)
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("g%d-%d", g, i)
				out, err := c.Run(ctx, "order", id, nil)
				if want := map[bool]saga.Outcome{true: saga.Compensated, false: saga.Completed}[i == 7]; out != want {
					t.Errorf("%s: Run = %v, %v; want %v", id, out, err, want)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	recovering.Wait()
	for key, n := range calls {
		if n != 1 {
			t.Errorf("step %s ran %d times", key, n)
		}
	}
	if recs, err := log.Claim(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("%d sagas left, %v", len(recs), err)
	}
}

// short turns an idempotency key ("8:transfer/2:t1/5:debit/do") into the
// tests' shorthand, "t1/debit" or "t1/debit/compensate", checking its form.
func short(key string) string {
	var parts []string
	rest := key
	for range 3 {
		n, after, ok := strings.Cut(rest, ":")
		size, err := strconv.Atoi(n)
		if !ok || err != nil || size > len(after) || len(after) == size || after[size] != '/' {
			panic("saga_test: malformed key " + strconv.Quote(key))
		}
		parts, rest = append(parts, after[:size]), after[size+1:]
	}
	switch rest {
	case "do":
		return parts[1] + "/" + parts[2]
	case "undo":
		return parts[1] + "/" + parts[2] + "/compensate"
	}
	panic("saga_test: malformed key " + strconv.Quote(key))
}
