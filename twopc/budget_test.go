package twopc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/internal/hangcheck"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/txlog"
	"github.com/otlpgo/otlpgo/twopc"
)

// refuser is a resource that refuses every commit and abort of the
// transaction IDs in refuse, every time: a permanently failing
// participant for those transactions, a working one for the rest.
type refuser struct {
	*fake
	mu     sync.Mutex
	refuse map[string]bool
	calls  map[string]int
}

var errRefused = errors.New("refused")

func newRefuser(name string, ids ...string) *refuser {
	r := &refuser{fake: newFake(name), refuse: map[string]bool{}, calls: map[string]int{}}
	for _, id := range ids {
		r.refuse[id] = true
	}
	return r
}

func (r *refuser) call(txid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[txid]++
	if r.refuse[txid] {
		return errRefused
	}
	return nil
}

func (r *refuser) Commit(ctx context.Context, txid string) error {
	if err := r.call(txid); err != nil {
		return err
	}
	return r.fake.Commit(ctx, txid)
}

func (r *refuser) Abort(ctx context.Context, txid string) error {
	if err := r.call(txid); err != nil {
		return err
	}
	return r.fake.Abort(ctx, txid)
}

// inDoubt leaves transactions in mem with the commit decision logged, as
// a coordinator that crashed after logging it would.
func inDoubt(t *testing.T, mem twopc.Log, ids ...string) {
	t.Helper()
	for _, id := range ids {
		a, b := newFake("a"), newFake("b")
		if _, err := coordinator(t, &stopLog{mem, 1}, a, b).Run(context.Background(), id, a, b); !errors.Is(err, errCrash) {
			t.Fatalf("Run %s: %v", id, err)
		}
	}
}

// TestRecoverGivesUpOnARefusingParticipant: a participant that refuses
// one transaction's commit every time made Recover retry it until its
// context ended, with no deadline forever, and never reach the others.
func TestRecoverGivesUpOnARefusingParticipant(t *testing.T) {
	mem := twopc.NewMemoryLog()
	inDoubt(t, mem, "bad", "good")
	b := newRefuser("b", "bad")
	a := newFake("a")
	c, err := twopc.New(mem, map[string]twopc.Resource{"a": a, "b": b}, twopc.WithBackoff(time.Microsecond, time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	r := hangcheck.Within(t, 10*time.Second, "Recover(context.Background()) with a refusing participant", func() result {
		n, err := c.Recover(context.Background())
		return result{n, err}
	})
	var ide *twopc.InDoubtError
	if r.n != 1 || !errors.As(r.err, &ide) || ide.ID != "bad" || ide.Decision != twopc.Committed ||
		!errors.Is(r.err, twopc.ErrInDoubt) || !errors.Is(r.err, errRefused) {
		t.Fatalf("Recover = %d, %v; want 1 and an *InDoubtError for bad", r.n, r.err)
	}
	var re *errs.RetryError
	if !errors.As(r.err, &re) || re.Stop != errs.StopAttempts || b.calls["bad"] != 20 {
		t.Fatalf("%d calls for bad, stopped by %v; want the default budget of 20 attempts", b.calls["bad"], r.err)
	}
	if !a.committed["good"] || !b.committed["good"] {
		t.Fatal("the other transaction was not recovered")
	}
	recs, err := mem.Claim(context.Background())
	if err != nil || len(recs) != 1 || recs[0].ID != "bad" {
		t.Fatalf("log after Recover: %v, %v; want only bad, left for a later Recover", recs, err)
	}
	// A later Recover, the participant working again, finishes it.
	b2 := newFake("b")
	n, err := coordinator(t, mem, a, b2).Recover(context.Background())
	if n != 1 || err != nil || !b2.committed["bad"] {
		t.Fatalf("a later Recover = %d, %v", n, err)
	}
}

// TestRunBoundsPhaseTwo: Run's phase two retried a participant that never
// acknowledged until ctx ended; now each participant has a budget of
// attempts and time (WithRetryBudget), after which Run returns an
// *InDoubtError and leaves the transaction to Recover.
func TestRunBoundsPhaseTwo(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		prepare  error
		decision twopc.Outcome
		opts     []twopc.Option
		stop     errs.Stop
	}{
		{"commit refused, attempts run out", nil, twopc.Committed, []twopc.Option{twopc.WithRetryBudget(3, time.Minute)}, errs.StopAttempts},
		{"abort refused, attempts run out", errNoFunds, twopc.Aborted, []twopc.Option{twopc.WithRetryBudget(3, time.Minute)}, errs.StopAttempts},
		{"commit refused, time runs out", nil, twopc.Committed, []twopc.Option{twopc.WithRetryBudget(1<<30, 20*time.Millisecond)}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := twopc.NewMemoryLog()
			a, b := newFake("a"), newRefuser("b", "tx")
			b.failPrepare = tt.prepare
			c, err := twopc.New(mem, map[string]twopc.Resource{"a": a, "b": b},
				append([]twopc.Option{twopc.WithBackoff(time.Microsecond, time.Millisecond)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				out twopc.Outcome
				err error
			}
			r := hangcheck.Within(t, 10*time.Second, "Run with a refusing participant", func() result {
				out, err := c.Run(ctx, "tx", a, b)
				return result{out, err}
			})
			var ide *twopc.InDoubtError
			var re *errs.RetryError
			if r.out != 0 || !errors.As(r.err, &ide) || ide.ID != "tx" || ide.Decision != tt.decision ||
				!errors.Is(r.err, errRefused) || !errors.As(r.err, &re) {
				t.Fatalf("Run = %v, %v; want an *InDoubtError deciding %v", r.out, r.err, tt.decision)
			}
			if tt.stop != "" && (re.Stop != tt.stop || b.calls["tx"] != 3) {
				t.Fatalf("stopped by %q after %d calls", re.Stop, b.calls["tx"])
			}
			if tt.prepare != nil && !errors.Is(r.err, tt.prepare) {
				t.Fatalf("the prepare error is lost: %v", r.err)
			}
			// Left in the log; a Recover with b working finishes it.
			b.refuse["tx"] = false
			n, err := c.Recover(ctx)
			want := b.fake.committed
			if tt.decision == twopc.Aborted {
				want = b.fake.aborted
			}
			if n != 1 || err != nil || !want["tx"] {
				t.Fatalf("Recover = %d, %v", n, err)
			}
		})
	}
}

// hang is a resource whose commit waits for its context to end: without
// a bound on phase two, with no deadline on ctx, for ever.
type hang struct{ *fake }

func (h hang) Commit(ctx context.Context, _ string) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestPhaseTwoBoundsAHangingCall(t *testing.T) {
	a, h := newFake("a"), hang{newFake("h")}
	c, err := twopc.New(twopc.NewMemoryLog(), map[string]twopc.Resource{"a": a, "h": h},
		twopc.WithRetryBudget(5, 30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	err = hangcheck.Within(t, 10*time.Second, "Run with a hanging commit", func() error {
		_, err := c.Run(context.Background(), "tx", a, h.fake)
		return err
	})
	if !errors.Is(err, twopc.ErrInDoubt) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v", err)
	}
}

// TestCoordinatorConcurrentSafe runs transactions from several goroutines
// while Recover runs over and over; participant b refuses one transaction
// in five, so those end in doubt within the budget and are left to
// Recover. Every transaction must end committed on both participants or
// left in the log, never aborted on one and committed on the other, and a
// last Recover with b working again must finish the rest.
func TestCoordinatorConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	mem := twopc.NewMemoryLog()
	a := newFake("a")
	var refused []string
	for g := range 4 {
		for i := range 25 {
			if i%5 == 0 {
				refused = append(refused, fmt.Sprintf("g%d-%d", g, i))
			}
		}
	}
	b := newRefuser("b", refused...)
	c, err := twopc.New(mem, map[string]twopc.Resource{"a": a, "b": b},
		twopc.WithBackoff(time.Microsecond, time.Microsecond), twopc.WithRetryBudget(3, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg, recovering sync.WaitGroup
	recovering.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.Recover(ctx); err != nil && !errors.Is(err, twopc.ErrInDoubt) {
				t.Error(err)
			}
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				id := fmt.Sprintf("g%d-%d", g, i)
				out, err := c.Run(ctx, id, a, b)
				switch {
				case i%5 == 0 && (out != 0 || !errors.Is(err, twopc.ErrInDoubt)):
					t.Errorf("%s: Run = %v, %v; want in doubt", id, out, err)
				case i%5 != 0 && (out != twopc.Committed || err != nil):
					t.Errorf("%s: Run = %v, %v", id, out, err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	recovering.Wait()
	b.mu.Lock()
	clear(b.refuse)
	b.mu.Unlock()
	if n, err := c.Recover(ctx); n != len(refused) || err != nil {
		t.Fatalf("the last Recover = %d, %v; want %d", n, err, len(refused))
	}
	for g := range 4 {
		for i := range 25 {
			id := fmt.Sprintf("g%d-%d", g, i)
			if !a.committed[id] || !b.fake.committed[id] || a.aborted[id] || b.fake.aborted[id] {
				t.Fatalf("%s: not committed on both", id)
			}
		}
	}
}

// hookLog runs hook (once) after its first Claim has read the log, as if
// the Claim's caller were slow to act on what it read.
type hookLog struct {
	twopc.Log
	once sync.Once
	hook func()
}

func (l *hookLog) Claim(ctx context.Context) ([]txlog.Record, error) {
	recs, err := l.Log.Claim(ctx)
	l.once.Do(l.hook)
	return recs, err
}

// TestRecoverDoesNotDriveAStaleRecord: Recover read a transaction still
// preparing ("p"); before it took the transaction, the Run driving it
// logged commit, committed a, gave up on b (in doubt) and returned. Recover
// drove what it had read, and aborted a transaction that had logged
// commit and committed on a. It must read the record again once it holds
// the transaction.
func TestRecoverDoesNotDriveAStaleRecord(t *testing.T) {
	ctx := context.Background()
	mem := twopc.NewMemoryLog()
	a, b := newFake("a"), newRefuser("b", "tx")
	b.block = make(chan struct{})
	runDone := make(chan error)
	log := &hookLog{Log: mem}
	log.hook = func() {
		close(b.block) // the Run prepares, logs commit, commits a, gives up on b
		if err := <-runDone; !errors.Is(err, twopc.ErrInDoubt) {
			t.Errorf("Run = %v; want in doubt", err)
		}
	}
	c, err := twopc.New(log, map[string]twopc.Resource{"a": a, "b": b},
		twopc.WithBackoff(time.Microsecond, time.Microsecond), twopc.WithRetryBudget(2, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := c.Run(ctx, "tx", a, b.fake)
		runDone <- err
	}()
	for { // wait until the Run has logged the transaction and blocks in prepare
		if recs, _ := mem.Claim(ctx); len(recs) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	err = hangcheck.Within(t, 10*time.Second, "Recover", func() error { _, err := c.Recover(ctx); return err })
	var ide *twopc.InDoubtError
	if !errors.As(err, &ide) || ide.Decision != twopc.Committed {
		t.Fatalf("Recover = %v; want the logged commit, in doubt on b", err)
	}
	if !a.committed["tx"] || a.aborted["tx"] || b.fake.aborted["tx"] {
		t.Fatalf("a committed %v, aborted %v; b aborted %v: Recover drove a stale record", a.committed["tx"], a.aborted["tx"], b.fake.aborted["tx"])
	}
}
