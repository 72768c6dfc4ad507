package twopc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/internal/hangcheck"

	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/twopc"
)

// panicky is a participant, resource and log that panics in the one
// method named by at, and otherwise works.
type panicky struct {
	*fake
	twopc.Log
	at string
}

func (p *panicky) maybe(method string) {
	if p.at == method {
		panic("twopc test: " + method)
	}
}

func (p *panicky) Name() string { p.maybe("Name"); return p.fake.Name() }
func (p *panicky) Prepare(ctx context.Context, id string) error {
	p.maybe("Prepare")
	return p.fake.Prepare(ctx, id)
}
func (p *panicky) Commit(ctx context.Context, id string) error {
	p.maybe("Commit")
	return p.fake.Commit(ctx, id)
}
func (p *panicky) Abort(ctx context.Context, id string) error {
	p.maybe("Abort")
	return p.fake.Abort(ctx, id)
}
func (p *panicky) Create(ctx context.Context, id string, s []byte) error {
	p.maybe("Create")
	return p.Log.Create(ctx, id, s)
}
func (p *panicky) Save(ctx context.Context, id string, s []byte) error {
	p.maybe("Save")
	return p.Log.Save(ctx, id, s)
}
func (p *panicky) Delete(ctx context.Context, id string) error {
	p.maybe("Delete")
	return p.Log.Delete(ctx, id)
}

// TestCallbackPanicsComeBackAsErrors makes each method a user gives the
// coordinator panic in turn (a participant's Name and Prepare, a
// resource's Commit and Abort, the log's writes: Log's Claim returns an internal type, so a user's
// log can only wrap ours), and requires Run or
// Recover to return the panic as a *panics.Error, with no goroutine left
// and the transaction finished or left in the log. Before, a panic in
// Name or the log crashed the caller, and one in Commit or Abort was
// retried for ever.
func TestCallbackPanicsComeBackAsErrors(t *testing.T) {
	for _, tt := range []struct {
		at      string
		recover bool // the panic is met by Recover, not Run
		failP   bool // b fails to prepare, so the transaction aborts
		inDoubt bool // the error is an *InDoubtError
		left    bool // the transaction stays in the log
	}{
		{at: "Name"},
		{at: "Prepare"},
		{at: "Commit", inDoubt: true, left: true},
		{at: "Abort", failP: true, inDoubt: true, left: true},
		{at: "Create"},
		{at: "Save", left: true},
		{at: "Delete", left: true},
		{at: "Commit", recover: true, inDoubt: true, left: true},
	} {
		name := tt.at
		if tt.recover {
			name += "/recover"
		}
		t.Run(name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx := context.Background()
			mem := twopc.NewMemoryLog()
			a := newFake("a")
			b := &panicky{fake: newFake("b"), Log: mem}
			if tt.failP {
				b.failPrepare = errNoFunds
			}
			b.at = tt.at
			if tt.recover {
				b.at = "Delete" // leaves the transaction in the log, decided
			}
			c, err := twopc.New(b, map[string]twopc.Resource{"a": a, "b": b},
				twopc.WithBackoff(time.Microsecond, time.Microsecond), twopc.WithRetryBudget(3, time.Second))
			if err != nil {
				t.Fatal(err)
			}
			err = hangcheck.Within(t, 10*time.Second, "Run", func() error { _, err := c.Run(ctx, "tx", a, b); return err })
			if tt.recover {
				b.at = tt.at
				err = hangcheck.Within(t, 10*time.Second, "Recover", func() error { _, err := c.Recover(ctx); return err })
			}
			var pe *panics.Error
			if !errors.As(err, &pe) || pe.Value != "twopc test: "+tt.at || len(pe.Stack) == 0 {
				t.Fatalf("err = %v; want the panic as a *panics.Error", err)
			}
			if tt.inDoubt != errors.Is(err, twopc.ErrInDoubt) {
				t.Fatalf("err = %v; in doubt: want %v", err, tt.inDoubt)
			}
			recs, err := mem.Claim(ctx)
			if err != nil || (len(recs) == 1) != tt.left {
				t.Fatalf("%d transactions left in the log (%v); want left: %v", len(recs), err, tt.left)
			}
			// The coordinator still works, and Recover finishes what was left.
			b.at = ""
			if n, err := c.Recover(ctx); err != nil || (n == 1) != tt.left {
				t.Fatalf("Recover after the panic = %d, %v", n, err)
			}
			if out, err := c.Run(ctx, "tx2", a, b); (out != twopc.Committed || err != nil) && !tt.failP {
				t.Fatalf("Run after the panic = %v, %v", out, err)
			}
		})
	}
}
