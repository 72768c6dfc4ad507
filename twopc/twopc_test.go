package twopc_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/twopc"
)

// fake is an in-memory participant and resource that records what it
// did and can be told to fail.
type fake struct {
	name        string
	mu          sync.Mutex
	prepared    map[string]bool
	committed   map[string]bool
	aborted     map[string]bool
	failPrepare error
	failCommits int // commits that fail before one succeeds
	block       chan struct{}
}

func newFake(name string) *fake {
	return &fake{name: name, prepared: map[string]bool{}, committed: map[string]bool{}, aborted: map[string]bool{}}
}

func (f *fake) Name() string { return f.name }

func (f *fake) Prepare(ctx context.Context, txid string) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.failPrepare != nil {
		return f.failPrepare
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared[txid] = true
	return nil
}

func (f *fake) Commit(_ context.Context, txid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCommits > 0 {
		f.failCommits--
		return errors.New("connection reset")
	}
	f.committed[txid] = true
	return nil
}

func (f *fake) Abort(_ context.Context, txid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborted[txid] = true
	return nil
}

func coordinator(t *testing.T, log twopc.Log, fakes ...*fake) *twopc.Coordinator {
	t.Helper()
	res := map[string]twopc.Resource{}
	for _, f := range fakes {
		res[f.name] = f
	}
	c, err := twopc.New(log, res, twopc.WithBackoff(time.Microsecond, time.Microsecond), twopc.WithPrepareTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var errNoFunds = errors.New("insufficient funds")

func TestCommitAndAbort(t *testing.T) {
	ctx := context.Background()
	a, b := newFake("a"), newFake("b")
	b.failCommits = 2 // retried until acknowledged
	log := twopc.NewMemoryLog()
	c := coordinator(t, log, a, b)
	if out, err := c.Run(ctx, "tx1", a, b); out != twopc.Committed || err != nil {
		t.Fatalf("Run = %v, %v", out, err)
	}
	if !a.committed["tx1"] || !b.committed["tx1"] || a.aborted["tx1"] {
		t.Fatal("not committed on both")
	}
	b.failPrepare = errNoFunds
	out, err := c.Run(ctx, "tx2", a, b)
	if out != twopc.Aborted || !errors.Is(err, errNoFunds) || !a.aborted["tx2"] || !b.aborted["tx2"] || a.committed["tx2"] {
		t.Fatalf("a failed prepare: %v, %v", out, err)
	}
	// A prepare that takes too long aborts the transaction.
	b.failPrepare, b.block = nil, make(chan struct{})
	out, err = c.Run(ctx, "tx3", a, b)
	if out != twopc.Aborted || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a slow prepare: %v, %v", out, err)
	}
	if recs, _ := log.Claim(ctx); len(recs) != 0 {
		t.Fatalf("%d transactions left in the log", len(recs))
	}
}

// decidedLog fails the first write after the decision, as a crash would
// stop a coordinator there.
type stopLog struct {
	twopc.Log
	allow int
}

var errCrash = errors.New("crash")

func (l *stopLog) Save(ctx context.Context, id string, s []byte) error {
	if l.allow--; l.allow < 0 {
		return errCrash
	}
	return l.Log.Save(ctx, id, s)
}

func (l *stopLog) Delete(ctx context.Context, id string) error {
	if l.allow--; l.allow < 0 {
		return errCrash
	}
	return l.Log.Delete(ctx, id)
}

func TestRecoverDrivesInDoubtTransactions(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		allow int
		want  string // "commit" or "abort"
	}{
		{"crash before the decision", 0, "abort"},
		{"crash after the decision", 1, "commit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newFake("a"), newFake("b")
			mem := twopc.NewMemoryLog()
			c := coordinator(t, &stopLog{mem, tt.allow}, a, b)
			if _, err := c.Run(ctx, "tx", a, b); !errors.Is(err, errCrash) {
				t.Fatalf("Run: %v", err)
			}
			a2, b2 := newFake("a"), newFake("b")
			n, err := coordinator(t, mem, a2, b2).Recover(ctx)
			if n != 1 || err != nil {
				t.Fatalf("Recover = %d, %v", n, err)
			}
			got := []bool{a2.committed["tx"], b2.committed["tx"], a2.aborted["tx"], b2.aborted["tx"]}
			want := []bool{true, true, false, false}
			if tt.want == "abort" {
				want = []bool{false, false, true, true}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("after recovery: committed %v, aborted %v; want %s on both", got[:2], got[2:], tt.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	a := newFake("a")
	c := coordinator(t, twopc.NewMemoryLog(), a)
	for _, id := range []string{"", "has space", "quote'", string(make([]byte, 151))} {
		if _, err := c.Run(ctx, id, a); !errors.Is(err, twopc.ErrInvalidID) {
			t.Errorf("Run(%q) = %v", id, err)
		}
	}
	if _, err := c.Run(ctx, "tx", newFake("stranger")); !errors.Is(err, twopc.ErrUnknownParticipant) {
		t.Errorf("unknown participant: %v", err)
	}
	var zero twopc.Coordinator
	if _, err := zero.Run(ctx, "tx", a); !errors.Is(err, twopc.ErrNoLog) {
		t.Errorf("the zero Coordinator: %v", err)
	}
	if twopc.Committed.String() != "committed" || twopc.Aborted.String() != "aborted" || twopc.Outcome(0).String() == "" {
		t.Error("outcome names")
	}
}
