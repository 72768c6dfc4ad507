package saga_test

import (
	"context"
	"errors"
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
