package orderbook_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/panics"
)

// engineLog returns the log an engine writes for n commands of the test
// stream, sent in batches of up to batch commands.
func engineLog(tb testing.TB, n, batch int) []byte {
	tb.Helper()
	var log bytes.Buffer
	e, err := orderbook.NewEngine(&log, orderbook.WithBatchSize(batch))
	if err != nil {
		tb.Fatal(err)
	}
	s := newCommandStream(8, 11)
	for range n {
		if err := e.Send(context.Background(), s.next(), nil); err != nil {
			tb.Fatal(err)
		}
	}
	if err := e.Shutdown(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return log.Bytes()
}

func TestReadLogStopsAtCallbackError(t *testing.T) {
	log := engineLog(t, 100, 7)
	stop := errors.New("stop")
	seen := 0
	err := orderbook.ReadLog(bytes.NewReader(log), func(seq uint64, _ orderbook.Command) error {
		seen++
		if seq == 10 {
			return stop
		}
		return nil
	})
	if err != stop || seen != 10 {
		t.Fatalf("ReadLog returned %v after %d commands, want the callback's error after 10", err, seen)
	}
	if err := orderbook.ReadLog(bytes.NewReader(log), nil); err != nil {
		t.Fatalf("ReadLog with no callback: %v", err)
	}
	var perr *panics.Error
	err = orderbook.ReadLog(bytes.NewReader(log), func(seq uint64, _ orderbook.Command) error {
		if seq == 3 {
			panic("boom")
		}
		return nil
	})
	if !errors.As(err, &perr) || perr.Value != "boom" || len(perr.Stack) == 0 {
		t.Fatalf("ReadLog with a panicking callback returned %v, want a *panics.Error", err)
	}
	if err := orderbook.ReadLog(bytes.NewReader(nil), nil); !errors.Is(err, orderbook.ErrTruncatedLog) {
		t.Fatalf("ReadLog of nothing: %v, want ErrTruncatedLog", err)
	}
}

// TestReplayEveryCut cuts a log at every byte and requires Replay to stop
// cleanly: at a frame boundary with no error, inside a frame with
// ErrTruncatedLog and the book of the whole frames before it.
func TestReplayEveryCut(t *testing.T) {
	log := engineLog(t, 300, 16)
	full, total, err := orderbook.Replay(bytes.NewReader(log))
	if err != nil || total != 300 {
		t.Fatalf("Replay: %d, %v", total, err)
	}
	var prev uint64
	for cut := range len(log) {
		b, n, err := orderbook.Replay(bytes.NewReader(log[:cut]))
		switch {
		case err == nil:
		case errors.Is(err, orderbook.ErrTruncatedLog):
			var le *orderbook.LogError
			if !errors.As(err, &le) || le.Offset > int64(cut) {
				t.Fatalf("cut %d: %v", cut, err)
			}
		default:
			t.Fatalf("cut at %d: %v, want nil or ErrTruncatedLog", cut, err)
		}
		if n < prev || n > total {
			t.Fatalf("cut at %d replayed %d commands after %d", cut, n, prev)
		}
		prev = n
		if b != nil {
			if err := b.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !bytes.Equal(full.AppendSnapshot(nil), full.AppendSnapshot(nil)) {
		t.Fatal("snapshot is not deterministic")
	}
}

// FuzzReplay feeds arbitrary bytes to Replay: it must not panic, must
// fail only with ErrCorruptLog (ErrNotLog is one) or ErrTruncatedLog,
// must agree with ReadLog, and must leave any book it returns consistent.
// A short input (the foreign files of issue 14's finding 7 were 1 to 3
// bytes) is also given to OpenEngine as a file, which must either refuse
// it untouched or (an empty file, or a log) open it with Replay's book.
// The seeds are real logs, an empty header, foreign files of 1 to 3
// bytes, a torn header, another version's header, and damaged logs.
func FuzzReplay(f *testing.F) {
	good := engineLog(f, 20, 4)
	f.Add(good)
	f.Add(engineLog(f, 3, 1))
	f.Add(good[:13]) // the header alone
	for _, foreign := range []string{"", "x", "\xff\xfe", "id\n", "OTL", "OTLPGOB\x02\x00", "OTLPGOB\x01\x00"} {
		f.Add([]byte(foreign))
	}
	f.Add(good[:len(good)-1]) // a torn last frame
	for _, i := range []int{8, 13, 14, 20, len(good) - 1} {
		f.Add(flipped(good, i)) // the policy byte, a frame's length, its checksums, a payload byte
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, n, err := orderbook.Replay(bytes.NewReader(data))
		if err != nil && !errors.Is(err, orderbook.ErrCorruptLog) && !errors.Is(err, orderbook.ErrTruncatedLog) {
			t.Fatalf("untyped error %v", err)
		}
		if errors.Is(err, orderbook.ErrNotLog) && !errors.Is(err, orderbook.ErrCorruptLog) {
			t.Fatalf("ErrNotLog without ErrCorruptLog: %v", err)
		}
		if b != nil {
			if err := b.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
		var read uint64
		rerr := orderbook.ReadLog(bytes.NewReader(data), func(uint64, orderbook.Command) error { read++; return nil })
		if read != n || (rerr == nil) != (err == nil) {
			t.Fatalf("ReadLog read %d commands (%v), Replay %d (%v)", read, rerr, n, err)
		}
		if len(data) > 32 {
			return
		}
		path := filepath.Join(t.TempDir(), "book.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, oerr := orderbook.OpenEngine(path, orderbook.WithQueueSize(16))
		if oerr != nil {
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Fatalf("OpenEngine refused the file (%v) and changed it to %q", oerr, after)
			}
			if !errors.Is(oerr, orderbook.ErrCorruptLog) && !errors.Is(oerr, orderbook.ErrTruncatedLog) {
				t.Fatalf("OpenEngine: untyped error %v", oerr)
			}
			return
		}
		snap, _, serr := e.Snapshot(context.Background())
		if err := e.Shutdown(context.Background()); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		switch {
		case len(data) == 0:
			b = orderbook.NewBook()
		case b == nil:
			t.Fatalf("OpenEngine opened %q, which Replay refused: %v", data, err)
		}
		if !bytes.Equal(snap, b.AppendSnapshot(nil)) {
			t.Fatalf("OpenEngine opened %q with another book than Replay's", data)
		}
	})
}
