package saga_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/saga"
)

// TestRecoverFinishesASagaWithANonUTF8Cause: a step's error that is not
// UTF-8 is stored sanitised, so that Recover reads back the record it
// wrote instead of quarantining it.
func TestRecoverFinishesASagaWithANonUTF8Cause(t *testing.T) {
	log := saga.NewMemoryLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crash := true
	undone := 0
	def := saga.Definition{Name: "x", Steps: []saga.Step{
		{Name: "a", Action: func(context.Context, string, []byte) error { return nil },
			Compensate: func(ctx context.Context, _ string, _ []byte) error {
				if crash {
					cancel()
					return ctx.Err()
				}
				undone++
				return nil
			}},
		{Name: "b", Action: func(context.Context, string, []byte) error {
			return errs.Permanent(errors.New("upstream said \xff\xfe"))
		}},
	}}
	if out, err := newCoordinator(t, log, def).Run(ctx, "x", "s1", nil); out != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, %v", out, err)
	}
	crash = false
	n, err := newCoordinator(t, log, def).Recover(context.Background())
	if n != 1 || err != nil || undone != 1 {
		t.Fatalf("Recover = %d, %v (compensated %d times)", n, err, undone)
	}
}

// TestNewRejectsNonUTF8Names: names and Versions are written in records
// and must read back as they were.
func TestNewRejectsNonUTF8Names(t *testing.T) {
	ok := func(context.Context, string, []byte) error { return nil }
	for _, d := range []saga.Definition{
		{Name: "x\xff", Steps: []saga.Step{{Name: "a", Action: ok}}},
		{Name: "x", Steps: []saga.Step{{Name: "a\xfe", Action: ok}}},
		{Name: "x", Version: "v\xc0", Steps: []saga.Step{{Name: "a", Action: ok}}},
	} {
		if _, err := saga.New(saga.NewMemoryLog(), []saga.Definition{d}); !errors.Is(err, saga.ErrInvalidDefinition) {
			t.Errorf("New(%q %q %q) = %v, want ErrInvalidDefinition", d.Name, d.Version, d.Steps[0].Name, err)
		}
	}
}

func TestNewRejectsNegativeAttempts(t *testing.T) {
	ok := func(context.Context, string, []byte) error { return nil }
	d := saga.Definition{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok, Attempts: -1}}}
	if _, err := saga.New(saga.NewMemoryLog(), []saga.Definition{d}); !errors.Is(err, saga.ErrInvalidDefinition) {
		t.Errorf("New with Attempts -1 = %v, want ErrInvalidDefinition", err)
	}
}

// TestIdempotencyKeysDoNotCollide: IDs and step names may hold '/', and
// two definitions may share IDs: no two steps get the same key.
func TestIdempotencyKeysDoNotCollide(t *testing.T) {
	j := &journal{}
	step := func(name string) saga.Step {
		return saga.Step{Name: name,
			Action:     func(_ context.Context, key string, _ []byte) error { j.add(key); return nil },
			Compensate: func(_ context.Context, key string, _ []byte) error { j.add(key); return nil }}
	}
	fail := saga.Step{Name: "fail", Action: func(context.Context, string, []byte) error {
		return errs.Permanent(errors.New("no"))
	}}
	c := newCoordinator(t, saga.NewMemoryLog(),
		saga.Definition{Name: "one", Steps: []saga.Step{step("c")}},
		saga.Definition{Name: "two", Steps: []saga.Step{step("b/c")}},
		saga.Definition{Name: "three", Steps: []saga.Step{step("x"), step("x/compensate"), fail}},
		saga.Definition{Name: "one/2:a", Steps: []saga.Step{step("c")}},
	)
	ctx := context.Background()
	c.Run(ctx, "one", "a/b", nil)
	c.Run(ctx, "two", "a", nil)
	c.Run(ctx, "three", "a", nil)
	c.Run(ctx, "one", "2:a/1:c", nil)
	c.Run(ctx, "one/2:a", "c", nil)
	seen := map[string]bool{}
	for _, k := range j.list() {
		if seen[k] {
			t.Errorf("key %q given to two steps (all: %q)", k, j.list())
		}
		seen[k] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d keys, want 8: %q", len(seen), j.list())
	}
}

// TestRecoverAfterAGoexitInAStep: a step that calls runtime.Goexit ends
// the goroutine that called Recover; the saga stays in the log, and the
// next Recover drives it (was: skipped forever as in flight).
func TestRecoverAfterAGoexitInAStep(t *testing.T) {
	log := saga.NewMemoryLog()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exits := atomic.Bool{}
	exits.Store(true)
	done := 0
	def := saga.Definition{Name: "x", Steps: []saga.Step{
		{Name: "a", Action: func(ctx context.Context, _ string, _ []byte) error {
			if ctx.Value(leaveKey{}) != nil {
				cancel()
				return ctx.Err()
			}
			if exits.Load() {
				runtime.Goexit()
			}
			done++
			return nil
		}},
	}}
	c := newCoordinator(t, log, def)
	if out, err := c.Run(context.WithValue(ctx, leaveKey{}, true), "x", "s1", nil); out != 0 || err == nil {
		t.Fatalf("Run = %v, %v", out, err)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c.Recover(context.Background())
		t.Error("Recover returned after a Goexit")
	}()
	<-ended
	exits.Store(false)
	if n, err := c.Recover(context.Background()); n != 1 || err != nil || done != 1 {
		t.Fatalf("Recover after a Goexit = %d, %v (step done %d times)", n, err, done)
	}
}

type leaveKey struct{}

// TestCompensationRetriesAWrappedPermanentError: a compensation is retried
// whatever it returns, a Permanent error at any depth too.
func TestCompensationRetriesAWrappedPermanentError(t *testing.T) {
	errDown := errors.New("ledger down")
	for name, wrap := range map[string]func(error) error{
		"wrapped": func(e error) error { return fmt.Errorf("db: %w", errs.Permanent(e)) },
		"twice":   func(e error) error { return errs.Permanent(errs.Permanent(e)) },
		"joined":  func(e error) error { return errors.Join(errors.New("x"), errs.Permanent(e)) },
	} {
		tries := 0
		def := saga.Definition{Name: "x", Steps: []saga.Step{
			{Name: "a", Action: func(context.Context, string, []byte) error { return nil },
				Compensate: func(context.Context, string, []byte) error {
					if tries++; tries < 3 {
						return wrap(errDown)
					}
					return nil
				}},
			{Name: "b", Action: func(context.Context, string, []byte) error { return errs.Permanent(errDeclined) }},
		}}
		out, err := newCoordinator(t, saga.NewMemoryLog(), def).Run(context.Background(), "x", "s", nil)
		if out != saga.Compensated || tries != 3 {
			t.Errorf("%s: Run = %v, %v after %d tries of the compensation, want compensated after 3", name, out, err, tries)
		}
		c, err := saga.New(saga.NewMemoryLog(), []saga.Definition{{Name: "x", Steps: []saga.Step{
			def.Steps[0], def.Steps[1]}}}, saga.WithBackoff(1, 1), saga.WithCompensationAttempts(2))
		if err != nil {
			t.Fatal(err)
		}
		tries = -10
		if out, err := c.Run(context.Background(), "x", "s", nil); out != saga.Stuck || !errors.Is(err, errDown) || tries != -8 {
			t.Errorf("%s: Run past the bound = %v, %v after %d tries", name, out, err, tries+10)
		}
	}
}
