package saga_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/saga"
)

// FuzzRecover stores an arbitrary record next to a good one in a memory
// log and recovers with a fixed definition: never a panic; the good saga
// is finished; the arbitrary one is either finished (and then a plain
// reading of it finds a record of this definition with a step in range)
// or reported with a *RecordError and left in the log as it was.
func FuzzRecover(f *testing.F) {
	j := &journal{}
	three := []string{"debit", "credit", "notify"}
	tmp := saga.NewMemoryLog()
	leave(f, tmp, j, "forward", "credit", false, "", three...)
	leave(f, tmp, j, "compensating", "credit", true, "notify", three...)
	for _, r := range snapshot(f, tmp) {
		f.Add(r)
		f.Add(bytes.Replace(r, []byte(`"s":1`), []byte(`"s":9`), 1))
		f.Add(bytes.Replace(r, []byte(`"s":1`), []byte(`"s":-1`), 1))
	}
	good := snapshot(f, tmp)["forward"]
	f.Add([]byte(`{"d":"transfer","p":"f","s":1}`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		ctx := context.Background()
		log := saga.NewMemoryLog()
		if err := log.Create(ctx, "fuzzed", rec); err != nil {
			t.Fatal(err)
		}
		if err := log.Create(ctx, "good", good); err != nil {
			t.Fatal(err)
		}
		c, err := saga.New(log, []saga.Definition{stopAt(&journal{}, nil, "", false, "", three...)}, saga.WithBackoff(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if perr := panics.Try(func() error { n, err = c.Recover(ctx); return nil }); perr != nil {
			t.Fatalf("Recover(%q) panicked: %v", rec, perr)
		}
		left := snapshot(t, log)
		if _, ok := left["good"]; ok {
			t.Fatalf("the good saga is still in the log")
		}
		var plain struct {
			Def   string `json:"d"`
			Phase string `json:"p"`
			Step  int    `json:"s"`
		}
		switch {
		case err != nil:
			var re *saga.RecordError
			if es := errs.Split(err); len(es) != 1 || !errors.As(es[0], &re) || re.ID != "fuzzed" {
				t.Fatalf("Recover(%q): %v", rec, err)
			}
			if n != 1 || !bytes.Equal(left["fuzzed"], rec) {
				t.Fatalf("Recover(%q) = %d, left %q", rec, n, left)
			}
		case n == 2: // finished: a record of this definition, in range
			if json.Unmarshal(rec, &plain) != nil || plain.Def != "transfer" || plain.Step < -1 || plain.Step > 3 || len(left) != 0 {
				t.Fatalf("Recover finished %q (%+v), left %q", rec, plain, left)
			}
		default: // a stuck saga, left alone
			if n != 1 || json.Unmarshal(rec, &plain) != nil || plain.Phase != "s" || plain.Step < 0 || plain.Step > 1 || !bytes.Equal(left["fuzzed"], rec) {
				t.Fatalf("Recover(%q) = %d, nil; left %q", rec, n, left)
			}
		}
	})
}
