package saga_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/saga"
)

// stopAt returns a definition of the named steps whose step stop cancels
// the caller's context (in its action, or with undo, in its compensation)
// so that the saga stays in the log where it was, and whose step fail
// fails permanently.
func stopAt(j *journal, cancel context.CancelFunc, stop string, undo bool, fail string, names ...string) saga.Definition {
	d := saga.Definition{Name: "transfer"}
	for _, name := range names {
		d.Steps = append(d.Steps, saga.Step{
			Name: name,
			Action: func(ctx context.Context, key string, _ []byte) error {
				switch {
				case name == fail:
					return errs.Permanent(errDeclined)
				case name == stop && !undo:
					cancel()
					return ctx.Err()
				}
				j.add("do " + short(key))
				return nil
			},
			Compensate: func(ctx context.Context, key string, _ []byte) error {
				if name == stop && undo {
					cancel()
					return ctx.Err()
				}
				j.add("undo " + short(key))
				return nil
			},
		})
	}
	return d
}

// leave runs saga id on stopAt's definition until its stop point ends
// its context, leaving it unfinished in log.
func leave(t testing.TB, log saga.Log, j *journal, id, stop string, undo bool, fail string, names ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	def := stopAt(j, cancel, stop, undo, fail, names...)
	if _, err := newCoordinator(t, log, def).Run(ctx, def.Name, id, nil); err == nil {
		t.Fatalf("saga %s ended; want it left in the log", id)
	}
}

func snapshot(t testing.TB, log saga.Log) map[string][]byte {
	t.Helper()
	recs, err := log.Claim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, r := range recs {
		out[r.ID] = r.State
	}
	return out
}

// recoverSafely runs Recover, turning a panic into a test failure.
func recoverSafely(t *testing.T, c *saga.Coordinator) (n int, err error) {
	t.Helper()
	if perr := panics.Try(func() error { n, err = c.Recover(context.Background()); return nil }); perr != nil {
		t.Fatalf("Recover panicked: %v", perr)
	}
	return n, err
}

// recordErrors returns Recover's *RecordErrors by saga ID.
func recordErrors(t *testing.T, err error) map[string]*saga.RecordError {
	t.Helper()
	out := map[string]*saga.RecordError{}
	for _, e := range errs.Split(err) {
		var re *saga.RecordError
		if !errors.As(e, &re) {
			t.Fatalf("Recover's error %v is not a *saga.RecordError", e)
		}
		out[re.ID] = re
	}
	return out
}

// TestRecoverKeepsSagasOfAChangedDefinition: sagas left unfinished by
// one version of a definition are not driven by another (a step removed
// between deploys): Recover used to panic with an index out of range on a
// saga compensating past the new end, and to delete as completed one going
// forward past it. Now each is reported as ErrDefinitionChanged and stays
// in the log, and listing the old version lets Recover finish them.
func TestRecoverKeepsSagasOfAChangedDefinition(t *testing.T) {
	log := saga.NewMemoryLog()
	j := &journal{}
	three := []string{"debit", "credit", "notify"}
	// compensating: notify failed, credit's compensation interrupted.
	leave(t, log, j, "compensating", "credit", true, "notify", three...)
	// forward: interrupted in credit's action.
	leave(t, log, j, "forward", "credit", false, "", three...)
	before := snapshot(t, log)
	if len(before) != 2 {
		t.Fatalf("%d sagas in the log, want 2", len(before))
	}

	v2 := stopAt(j, nil, "", false, "", "debit")
	n, err := recoverSafely(t, newCoordinator(t, log, v2))
	if n != 0 || err == nil {
		t.Fatalf("Recover with a changed definition = %d, %v", n, err)
	}
	if after := snapshot(t, log); len(after) != 2 || !bytes.Equal(after["forward"], before["forward"]) || !bytes.Equal(after["compensating"], before["compensating"]) {
		t.Fatalf("the log changed: %q, was %q", after, before)
	}
	res := recordErrors(t, err)
	for _, id := range []string{"forward", "compensating"} {
		re := res[id]
		if re == nil || re.Saga != "transfer" || !errors.Is(err, saga.ErrDefinitionChanged) || !errors.Is(re, saga.ErrDefinitionChanged) || !strings.Contains(re.Error(), id) {
			t.Fatalf("saga %s: %v", id, re)
		}
	}
	t.Log(err)

	// With the old version listed before the new one, Recover finishes them.
	v1 := stopAt(j, nil, "", false, "", three...)
	c, err := saga.New(log, []saga.Definition{v1, v2}, saga.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recoverSafely(t, c); n != 2 || err != nil {
		t.Fatalf("Recover with both versions = %d, %v", n, err)
	}
	if left := snapshot(t, log); len(left) != 0 {
		t.Fatalf("%d sagas left", len(left))
	}
	// Run starts new sagas on the last version listed.
	if _, err := c.Run(context.Background(), "transfer", "new", nil); err != nil {
		t.Fatal(err)
	}
	if got := j.list(); !slices.Contains(got, "do new/debit") || slices.Contains(got, "do new/credit") {
		t.Fatalf("steps %v: the new saga did not run on the last version", got)
	}

	// A changed Version alone is a changed definition.
	leave(t, log, j, "labelled", "credit", false, "", three...)
	relabelled := stopAt(j, nil, "", false, "", three...)
	relabelled.Version = "2"
	if _, err := recoverSafely(t, newCoordinator(t, log, relabelled)); !errors.Is(err, saga.ErrDefinitionChanged) {
		t.Fatalf("Recover with another Version: %v", err)
	}
	if len(snapshot(t, log)) != 1 {
		t.Fatal("the saga of the other Version left the log")
	}
}

// TestRecoverQuarantinesBadRecords: records that do not fit their
// definition (damaged, or written by something else) are reported as
// ErrBadRecord or ErrUnknownSaga and left in the log, and Recover still
// finishes the good ones. Before, a step index past the end panicked, and
// most other misfits were deleted as if completed.
func TestRecoverQuarantinesBadRecords(t *testing.T) {
	j := &journal{}
	three := []string{"debit", "credit", "notify"}
	tmp := saga.NewMemoryLog()
	leave(t, tmp, j, "good", "credit", false, "", three...)
	good := snapshot(t, tmp)["good"]
	if !bytes.Contains(good, []byte(`"p":"f","s":1}`)) {
		t.Fatalf("record %s: the test's edits below no longer apply", good)
	}
	edit := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	bad := map[string]struct {
		state []byte
		kind  error
	}{
		"forward past the end":      {edit(`"s":1}`, `"s":4}`), saga.ErrBadRecord},
		"forward before the start":  {edit(`"s":1}`, `"s":-1}`), saga.ErrBadRecord},
		"compensating past the end": {edit(`"p":"f","s":1}`, `"p":"c","s":7,"x":"notify"}`), saga.ErrBadRecord},
		"compensating below -1":     {edit(`"p":"f","s":1}`, `"p":"c","s":-2,"x":"notify"}`), saga.ErrBadRecord},
		"compensating no failure":   {edit(`"p":"f","s":1}`, `"p":"c","s":0}`), saga.ErrBadRecord},
		"stuck past the end":        {edit(`"p":"f","s":1}`, `"p":"s","s":2,"x":"notify"}`), saga.ErrBadRecord},
		"unknown phase":             {edit(`"p":"f"`, `"p":"z"`), saga.ErrBadRecord},
		"not JSON":                  {[]byte("\x00\x01garbage"), saga.ErrBadRecord},
		"empty":                     {nil, saga.ErrBadRecord},
		"unknown field":             {edit(`"p":"f"`, `"p":"f","zz":1`), saga.ErrBadRecord},
		"not canonical":             {edit(`{"d"`, `{ "d"`), saga.ErrBadRecord},
		"cased key":                 {edit(`"p":"f"`, `"P":"f"`), saga.ErrBadRecord},
		"trailing data":             {append(bytes.Clone(good), " {}"...), saga.ErrBadRecord},
		"unknown definition":        {edit(`"d":"transfer"`, `"d":"refund"`), saga.ErrUnknownSaga},
		"other steps":               {edit(`"f":"`, `"f":"0`), saga.ErrDefinitionChanged},
		"unversioned":               {[]byte(`{"d":"transfer","p":"f","s":1}`), saga.ErrDefinitionChanged},
		"null":                      {[]byte(`null`), saga.ErrBadRecord},
		"empty object":              {[]byte(`{}`), saga.ErrBadRecord},
		"unversioned, no phase":     {[]byte(`{"d":"transfer","s":1}`), saga.ErrBadRecord},
		"unversioned, no name":      {[]byte(`{"p":"f","s":1}`), saga.ErrBadRecord},
	}
	log := saga.NewMemoryLog()
	ctx := context.Background()
	for id, b := range bad {
		if err := log.Create(ctx, id, b.state); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Create(ctx, "good", good); err != nil {
		t.Fatal(err)
	}
	n, err := recoverSafely(t, newCoordinator(t, log, stopAt(j, nil, "", false, "", three...)))
	if n != 1 {
		t.Fatalf("Recover drove %d sagas, want the good one: %v", n, err)
	}
	res := recordErrors(t, err)
	after := snapshot(t, log)
	for id, b := range bad {
		if re := res[id]; re == nil || !errors.Is(re, b.kind) {
			t.Errorf("%s: %v, want %v", id, re, b.kind)
		}
		if !bytes.Equal(after[id], b.state) {
			t.Errorf("%s: left the log or changed: %q", id, after[id])
		}
	}
	if len(res) != len(bad) || len(after) != len(bad) {
		t.Fatalf("%d errors and %d records for %d bad records", len(res), len(after), len(bad))
	}
	t.Log(err)
}
