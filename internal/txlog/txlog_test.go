package txlog_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/otlpgo/otlpgo/internal/txlog"
)

// conformance checks what every Log must do.
func conformance(t *testing.T, open func() txlog.Log) {
	ctx := context.Background()
	l := open()
	if err := l.Create(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := l.Create(ctx, "a", []byte("x")); !errors.Is(err, txlog.ErrExists) {
		t.Fatalf("Create twice: %v", err)
	}
	if err := l.Save(ctx, "b", []byte("x")); !errors.Is(err, txlog.ErrNotFound) {
		t.Fatalf("Save of a missing record: %v", err)
	}
	if err := l.Save(ctx, "a", []byte("2")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			id := fmt.Sprint("c", g)
			if err := l.Create(ctx, id, []byte("0")); err != nil {
				t.Error(err)
			}
			for i := range 5 {
				if err := l.Save(ctx, id, []byte(fmt.Sprint(i))); err != nil {
					t.Error(err)
				}
			}
			if g%2 == 0 {
				if err := l.Delete(ctx, id); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	recs, err := l.Claim(ctx)
	if err != nil || len(recs) != 9 {
		t.Fatalf("Claim: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.ID == "a" && string(r.State) != "2" || r.ID != "a" && string(r.State) != "4" {
			t.Fatalf("record %s = %q", r.ID, r.State)
		}
	}
	if err := l.Delete(ctx, "missing"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(ctx, "a", nil); !errors.Is(err, txlog.ErrClosed) {
		t.Fatalf("Save after Close: %v", err)
	}
}

func TestMemory(t *testing.T) {
	conformance(t, func() txlog.Log { return txlog.NewMemory() })
}

func TestBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	conformance(t, func() txlog.Log {
		l, err := txlog.OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
	// What was written survives a reopen.
	l, err := txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if recs, err := l.Claim(context.Background()); err != nil || len(recs) != 9 {
		t.Fatalf("after reopening: %d records, %v", len(recs), err)
	}
}

// TestLogsConcurrentSafe drives each log from many goroutines at once
// (bbolt's Batch groups, and may retry, their writes) and checks what a
// reopened bbolt log holds, count included.
func TestLogsConcurrentSafe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	bl, err := txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]txlog.Log{"memory": txlog.NewMemory(), "bolt": bl} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 20 {
						id := fmt.Sprint(g, "-", i)
						if err := l.Create(ctx, id, []byte(id)); err != nil {
							t.Error(err)
						}
						if err := l.Save(ctx, id, []byte(id+"'")); err != nil {
							t.Error(err)
						}
						if i%2 == 0 {
							if err := l.Delete(ctx, id); err != nil {
								t.Error(err)
							}
						}
						if _, err := l.Claim(ctx); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			if recs, err := l.Claim(ctx); err != nil || len(recs) != 80 {
				t.Fatalf("Claim: %d records, %v", len(recs), err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	bl, err = txlog.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	if recs, err := bl.Claim(context.Background()); err != nil || len(recs) != 80 {
		t.Fatalf("reopened: %d records, %v", len(recs), err)
	}
}
