package saga_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/txlog"
	"github.com/otlpgo/otlpgo/panics"
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

// panickingLog panics in the method named.
type panickingLog struct {
	saga.Log
	in string
}

func (l *panickingLog) Create(ctx context.Context, id string, s []byte) error {
	if l.in == "Create" {
		panic("create")
	}
	return l.Log.Create(ctx, id, s)
}

func (l *panickingLog) Save(ctx context.Context, id string, s []byte) error {
	if l.in == "Save" {
		panic("save")
	}
	return l.Log.Save(ctx, id, s)
}

func (l *panickingLog) Delete(ctx context.Context, id string) error {
	if l.in == "Delete" {
		panic("delete")
	}
	return l.Log.Delete(ctx, id)
}

func (l *panickingLog) Claim(ctx context.Context) ([]txlog.Record, error) {
	if l.in == "Claim" {
		panic("claim")
	}
	return l.Log.Claim(ctx)
}

// TestALogThatPanicsIsAnError: a user's Log that panics makes Run and
// Recover return a *panics.Error, not panic; the saga stays for Recover.
func TestALogThatPanicsIsAnError(t *testing.T) {
	ok := func(context.Context, string, []byte) error { return nil }
	def := saga.Definition{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}}}
	for _, in := range []string{"Create", "Save", "Delete", "Claim"} {
		log := &panickingLog{Log: saga.NewMemoryLog(), in: in}
		c := newCoordinator(t, log, def)
		var pe *panics.Error
		out, err := runSafely(func() (saga.Outcome, error) { return c.Run(context.Background(), "x", "s", nil) })
		if in == "Claim" {
			out, err = runSafely(func() (saga.Outcome, error) { n, err := c.Recover(context.Background()); return saga.Outcome(n), err })
		}
		if out != 0 || !errors.As(err, &pe) {
			t.Errorf("%s panics: %v, %v; want a *panics.Error", in, out, err)
		}
		log.in = ""
		if n, err := c.Recover(context.Background()); err != nil || (in == "Save" || in == "Delete") != (n == 1) {
			t.Errorf("%s panicked, then Recover = %d, %v", in, n, err)
		}
	}
}

// runSafely turns a panic of fn into a test error.
func runSafely(fn func() (saga.Outcome, error)) (out saga.Outcome, err error) {
	err = panics.Try(func() error {
		out, err = fn()
		if err == nil {
			return nil
		}
		return errWrapped{err}
	})
	var w errWrapped
	if errors.As(err, &w) {
		return out, w.err
	}
	if err != nil {
		return out, fmt.Errorf("panicked through: %v", err)
	}
	return out, nil
}

type errWrapped struct{ err error }

func (e errWrapped) Error() string { return e.err.Error() }

func TestRunRejectsAnEmptyID(t *testing.T) {
	ok := func(context.Context, string, []byte) error { return nil }
	def := saga.Definition{Name: "x", Steps: []saga.Step{{Name: "a", Action: ok}}}
	bolt, err := saga.OpenBoltLog(t.TempDir() + "/log.db")
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	for name, log := range map[string]saga.Log{"memory": saga.NewMemoryLog(), "bolt": bolt} {
		if out, err := newCoordinator(t, log, def).Run(context.Background(), "x", "", nil); out != 0 || !errors.Is(err, saga.ErrEmptyID) {
			t.Errorf("%s: Run with an empty ID = %v, %v", name, out, err)
		}
		if recs, _ := log.Claim(context.Background()); len(recs) != 0 {
			t.Errorf("%s: %d records", name, len(recs))
		}
	}
}
