package orderbook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/panics"
)

// logged is one result as the event stream saw it, with its events copied.
type logged struct {
	seq    uint64
	cmd    orderbook.Command
	events []orderbook.Event
}

// recorder is an event stream that keeps everything.
type recorder struct{ results []logged }

func (r *recorder) handle(res orderbook.Result) {
	r.results = append(r.results, logged{res.Seq, res.Command, slices.Clone(res.Events)})
}

func shutdown(t testing.TB, e *orderbook.Engine) {
	t.Helper()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestEngineLogReplaysToSameBook runs producers concurrently through the
// engine and checks the whole chain: every accepted command gets exactly
// one result, in each producer's order; the event stream numbers them
// 1..n; the log holds the same commands in the same order; a reference
// book fed the logged order gives the same events; and Replay rebuilds a
// book whose snapshot equals the engine's, byte for byte.
func TestEngineLogReplaysToSameBook(t *testing.T) {
	producers, perProducer := 4, 25_000
	if testing.Short() {
		perProducer = 2_500
	}
	path := filepath.Join(t.TempDir(), "book.log")
	var stream recorder
	e, err := orderbook.OpenEngine(path, orderbook.WithEventStream(stream.handle), orderbook.WithSTP(orderbook.CancelOldest),
		orderbook.WithQueueSize(1024), orderbook.WithBatchSize(64))
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]logged, producers) // written by the matching goroutine, read after Shutdown
	sent := make([][]orderbook.Command, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			s := newCommandStream(uint64(p), 40)
			s.nextID, s.step = orderbook.OrderID(p+1), orderbook.OrderID(producers)
			h := func(res orderbook.Result) {
				got[p] = append(got[p], logged{res.Seq, res.Command, slices.Clone(res.Events)})
			}
			for range perProducer {
				c := s.next()
				if err := e.Send(context.Background(), c, h); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				sent[p] = append(sent[p], c)
			}
		})
	}
	wg.Wait()
	snap, last, err := e.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, e)

	total := uint64(producers * perProducer)
	if last != total || uint64(len(stream.results)) != total {
		t.Fatalf("snapshot after seq %d, stream saw %d results, want %d", last, len(stream.results), total)
	}
	for i, r := range stream.results {
		if r.seq != uint64(i+1) {
			t.Fatalf("stream result %d has seq %d", i, r.seq)
		}
	}
	for p := range producers {
		if len(got[p]) != len(sent[p]) {
			t.Fatalf("producer %d: %d results for %d commands", p, len(got[p]), len(sent[p]))
		}
		for i, r := range got[p] {
			if r.cmd != sent[p][i] || (i > 0 && r.seq <= got[p][i-1].seq) {
				t.Fatalf("producer %d result %d: %+v (seq %d) out of order", p, i, r.cmd, r.seq)
			}
			if s := stream.results[r.seq-1]; !slices.Equal(s.events, r.events) {
				t.Fatalf("seq %d: handler and stream saw different events", r.seq)
			}
		}
	}

	// The log, read back, is the stream's order; a reference book fed that
	// order agrees event for event.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := &refBook{stp: orderbook.CancelOldest}
	err = orderbook.ReadLog(f, func(seq uint64, c orderbook.Command) error {
		r := stream.results[seq-1]
		if c != canonical(r.cmd) {
			return fmt.Errorf("log seq %d: %+v, stream had %+v", seq, c, r.cmd)
		}
		if want := ref.apply(c); !slices.Equal(r.events, want) && (len(want) > 0 || len(r.events) > 0) {
			return fmt.Errorf("seq %d %+v: engine events %+v, reference %+v", seq, c, r.events, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, n, err := orderbook.Replay(f)
	if err != nil || n != total {
		t.Fatalf("Replay: %d commands, %v", n, err)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.AppendSnapshot(nil), snap) {
		t.Fatal("the replayed book's snapshot differs from the engine's")
	}
	t.Logf("%d commands from %d producers; %d resting at the end; snapshot %d bytes", total, producers, b.Len(), len(snap))
}

func TestOpenEngineRecovers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "book.log")
	run := func(from, n int) ([]byte, uint64) {
		t.Helper()
		e, err := orderbook.OpenEngine(path)
		if err != nil {
			t.Fatal(err)
		}
		s := newCommandStream(uint64(from), 11)
		s.nextID = orderbook.OrderID(from + 1)
		var lastSeq uint64
		for range n {
			_, seq, err := e.Do(ctx, s.next(), nil)
			if err != nil {
				t.Fatal(err)
			}
			lastSeq = seq
		}
		snap, _, err := e.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		shutdown(t, e)
		return snap, lastSeq
	}
	snapAt := func() ([]byte, uint64) {
		t.Helper()
		e, err := orderbook.OpenEngine(path)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(t, e)
		snap, seq, err := e.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap, seq
	}

	snap1, seq1 := run(0, 1000)
	if seq1 != 1000 {
		t.Fatalf("last seq %d, want 1000", seq1)
	}
	if snap, seq := snapAt(); !bytes.Equal(snap, snap1) || seq != seq1 {
		t.Fatalf("reopened at seq %d with a different book (want seq %d)", seq, seq1)
	}
	// Sequence numbers go on after a restart.
	snap2, seq2 := run(1_000_000, 500)
	if seq2 != 1500 || bytes.Equal(snap2, snap1) {
		t.Fatalf("after restart: last seq %d, want 1500 (book changed: %v)", seq2, !bytes.Equal(snap2, snap1))
	}

	// A torn frame at the end, as a crash mid-write leaves: cut back.
	intact, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := append(slices.Clip(intact), 100, 1, 2, 3) // claims 100 bytes, has 3
	if err := os.WriteFile(path, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := orderbook.Replay(bytes.NewReader(torn)); !errors.Is(err, orderbook.ErrTruncatedLog) {
		t.Fatalf("Replay of a torn log: %v, want ErrTruncatedLog", err)
	}
	if snap, seq := snapAt(); !bytes.Equal(snap, snap2) || seq != seq2 {
		t.Fatal("a torn tail changed the recovered book")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, intact) {
		t.Fatalf("the torn tail was not cut: %d bytes, want %d", len(after), len(intact))
	}

	// Damage in the middle is refused, and the file left alone.
	damaged := slices.Clone(intact)
	damaged[len(damaged)/2] ^= 0x40
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = orderbook.OpenEngine(path)
	var le *orderbook.LogError
	if !errors.Is(err, orderbook.ErrCorruptLog) || !errors.As(err, &le) || le.Offset <= 0 {
		t.Fatalf("OpenEngine on a damaged log: %v, want a *LogError wrapping ErrCorruptLog", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, damaged) {
		t.Fatal("OpenEngine changed a damaged log")
	}

	// Not a log at all; a policy that contradicts the log's.
	if err := os.WriteFile(path, []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := orderbook.OpenEngine(path); !errors.Is(err, orderbook.ErrCorruptLog) {
		t.Fatalf("OpenEngine on a text file: %v, want ErrCorruptLog", err)
	}
	if err := os.WriteFile(path, intact, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := orderbook.OpenEngine(path, orderbook.WithSTP(orderbook.CancelBoth)); !errors.Is(err, orderbook.ErrInvalidConfig) {
		t.Fatalf("OpenEngine with another policy: %v, want ErrInvalidConfig", err)
	}
	// A header torn at creation cannot be told from a foreign file: it is
	// refused and left alone (TestOpenEngineRefusesForeignFiles); an empty
	// file starts afresh.
	if err := os.WriteFile(path, intact[:4], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := orderbook.OpenEngine(path); !errors.Is(err, orderbook.ErrNotLog) {
		t.Fatalf("OpenEngine on a torn header: %v, want ErrNotLog", err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, seq := snapAt(); seq != 0 {
		t.Fatalf("an empty file recovered to seq %d, want a new log", seq)
	}
}

// TestOpenEngineRefusesForeignFiles is issue 14's finding 7: OpenEngine
// took any existing file of 1 to 3 bytes for a log torn at creation and
// overwrote it with a new log. Now every non-empty file that is not a
// command log is refused with ErrNotLog (which is also ErrCorruptLog) and
// left byte for byte as it was; only a missing or empty file becomes a
// new log.
func TestOpenEngineRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	e, err := orderbook.NewEngine(&log)
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, e)
	header := log.Bytes() // a log with no frames: just the header
	foreign := map[string][]byte{
		"1 byte":                 {'x'},
		"2 bytes":                {0xff, 0xfe},
		"3 bytes":                []byte("id\n"),
		"a text file":            []byte("hello, world\n"),
		"a NUL byte":             {0},
		"a header's first byte":  header[:1],
		"a header less one byte": header[:len(header)-1],
		"another version":        append([]byte("OTLPGOB\x01"), header[8:]...),
		"a snapshot":             orderbook.NewBook().AppendSnapshot(nil),
	}
	for name, data := range foreign {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := orderbook.OpenEngine(path)
		if err == nil {
			shutdown(t, e)
		}
		var le *orderbook.LogError
		if !errors.Is(err, orderbook.ErrNotLog) || !errors.Is(err, orderbook.ErrCorruptLog) || !errors.As(err, &le) {
			t.Errorf("%s: OpenEngine = %v, want a *LogError wrapping ErrNotLog and ErrCorruptLog", name, err)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, data) {
			t.Errorf("%s: OpenEngine changed the file to %q (%v)", name, after, err)
		}
	}
	for name, create := range map[string]bool{"missing": false, "empty": true} {
		path := filepath.Join(dir, name)
		if create {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		e, err := orderbook.OpenEngine(path)
		if err != nil {
			t.Fatalf("%s file: %v", name, err)
		}
		shutdown(t, e)
		if after, _ := os.ReadFile(path); !bytes.Equal(after, header) {
			t.Errorf("%s file: holds %q after OpenEngine, want a new log's header", name, after)
		}
	}
}

// failingWriter accepts limit bytes and then fails every write; a write
// that crosses the limit is cut short, as a full disk would.
type failingWriter struct {
	bytes.Buffer
	limit int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	room := w.limit - w.Len()
	if room >= len(p) {
		return w.Buffer.Write(p)
	}
	w.Buffer.Write(p[:max(room, 0)])
	return max(room, 0), errDiskFull
}

func TestEngineLogWriteFailureStopsMatching(t *testing.T) {
	ctx := context.Background()
	w := &failingWriter{limit: 2_000}
	var reported []error
	var mu sync.Mutex
	e, err := orderbook.NewEngine(w, orderbook.WithErrorHandler(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := newCommandStream(9, 11)
	ref := orderbook.NewBook()
	var le *orderbook.LogError
	accepted := 0
	for i := 0; ; i++ {
		c := s.next()
		events, seq, err := e.Do(ctx, c, nil)
		if err != nil {
			if !errors.As(err, &le) || !errors.Is(err, errDiskFull) {
				t.Fatalf("Do after the disk filled: %v, want a *LogError wrapping it", err)
			}
			break
		}
		if want := ref.Apply(c, nil); !slices.Equal(events, want) || seq != uint64(i+1) {
			t.Fatalf("command %d: seq %d events %+v, want %+v", i, seq, events, want)
		}
		accepted++
	}
	if err := e.Send(ctx, s.next(), nil); !errors.Is(err, errDiskFull) {
		t.Fatalf("Send after the failure: %v", err)
	}
	if err := e.Shutdown(ctx); !errors.Is(err, errDiskFull) {
		t.Fatalf("Shutdown after the failure: %v", err)
	}
	if len(reported) != 1 {
		t.Fatalf("%d errors reported, want 1: %v", len(reported), reported)
	}
	// What reached the disk replays to the book of the accepted commands:
	// the failed frame is torn and its commands were never matched.
	b, n, err := orderbook.Replay(bytes.NewReader(w.Bytes()))
	if err != nil && !errors.Is(err, orderbook.ErrTruncatedLog) {
		t.Fatal(err)
	}
	if n != uint64(accepted) || !bytes.Equal(b.AppendSnapshot(nil), ref.AppendSnapshot(nil)) {
		t.Fatalf("replayed %d commands (accepted %d); books equal: %v", n, accepted, bytes.Equal(b.AppendSnapshot(nil), ref.AppendSnapshot(nil)))
	}
	t.Logf("%d commands matched before the log failed at byte %d", accepted, le.Offset)
}

func TestEngineErrors(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]orderbook.Option{
		"queue size": {orderbook.WithQueueSize(-1)},
		"batch size": {orderbook.WithBatchSize(1 << 31)},
		"policy":     {orderbook.WithSTP(7)},
	} {
		if _, err := orderbook.NewEngine(io.Discard, opts...); !errors.Is(err, orderbook.ErrInvalidConfig) {
			t.Errorf("%s: NewEngine = %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := orderbook.NewEngine(nil); !errors.Is(err, orderbook.ErrInvalidConfig) {
		t.Errorf("NewEngine(nil) = %v, want ErrInvalidConfig", err)
	}
	if _, err := orderbook.NewEngine(&failingWriter{}); !errors.Is(err, errDiskFull) {
		t.Errorf("NewEngine on a full disk = %v", err)
	}
	if _, err := orderbook.OpenEngine(filepath.Join(t.TempDir(), "no", "such", "dir", "log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenEngine in a missing directory = %v", err)
	}

	var zero orderbook.Engine
	if err := zero.Send(ctx, orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: 1}}, nil); !errors.Is(err, orderbook.ErrClosed) {
		t.Errorf("Send on the zero Engine = %v, want ErrClosed", err)
	}
	if _, _, err := zero.Snapshot(ctx); !errors.Is(err, orderbook.ErrClosed) || zero.Shutdown(ctx) != nil {
		t.Errorf("Snapshot on the zero Engine = %v, want ErrClosed; Shutdown = %v", err, zero.Shutdown(ctx))
	}

	e, err := orderbook.NewEngine(io.Discard, nil) // a nil option is ignored
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Send(ctx, orderbook.Command{Op: 0}, nil); !errors.Is(err, orderbook.ErrUnknownOp) {
		t.Errorf("Send of op 0 = %v, want ErrUnknownOp", err)
	}
	if _, _, err := e.Do(ctx, orderbook.Command{Op: 200}, nil); !errors.Is(err, orderbook.ErrUnknownOp) {
		t.Errorf("Do of op 200 = %v, want ErrUnknownOp", err)
	}
	shutdown(t, e)
	shutdown(t, e) // idempotent
	c := orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: 1}}
	if err := e.Send(ctx, c, nil); !errors.Is(err, orderbook.ErrClosed) {
		t.Errorf("Send after Shutdown = %v, want ErrClosed", err)
	}
	if _, _, err := e.Do(ctx, c, nil); !errors.Is(err, orderbook.ErrClosed) {
		t.Errorf("Do after Shutdown = %v, want ErrClosed", err)
	}
	if _, _, err := e.Snapshot(ctx); !errors.Is(err, orderbook.ErrClosed) {
		t.Errorf("Snapshot after Shutdown = %v, want ErrClosed", err)
	}
}

func TestEngineHandlerPanicIsRecovered(t *testing.T) {
	ctx := context.Background()
	var reported atomic.Pointer[error]
	e, err := orderbook.NewEngine(io.Discard, orderbook.WithErrorHandler(func(err error) { reported.Store(&err) }))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, e)
	buy := orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: 1}}
	if err := e.Send(ctx, buy, func(orderbook.Result) { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	events, seq, err := e.Do(ctx, orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: 1}}, nil)
	if err != nil || seq != 2 || len(events) != 1 || events[0].Kind != orderbook.Cancelled {
		t.Fatalf("after a panicking handler: %+v seq %d, %v", events, seq, err)
	}
	p := reported.Load()
	if p == nil {
		t.Fatal("the panic was not reported")
	}
	var perr *panics.Error
	if !errors.As(*p, &perr) || perr.Value != "boom" || !strings.Contains(string(perr.Stack), "engine_test.go") || !strings.Contains((*p).Error(), "boom") {
		t.Fatalf("reported %v, want an error wrapping a *panics.Error with the value and the stack", *p)
	}
}

// TestEngineErrorHandlerPanicIsRecovered: an error handler that panics
// (on a handler's panic) does not stop matching; both go to otel.Handle.
func TestEngineErrorHandlerPanicIsRecovered(t *testing.T) {
	ctx := context.Background()
	var handled atomic.Pointer[error]
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled.Store(&err) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	e, err := orderbook.NewEngine(io.Discard, orderbook.WithErrorHandler(func(error) { panic("handler of handlers") }))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, e)
	buy := orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: 1}}
	if err := e.Send(ctx, buy, func(orderbook.Result) { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	if _, seq, err := e.Do(ctx, orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: 1}}, nil); err != nil || seq != 2 {
		t.Fatalf("after a panicking error handler: seq %d, %v", seq, err)
	}
	p := handled.Load()
	var perr *panics.Error
	if p == nil || !errors.As(*p, &perr) || !strings.Contains((*p).Error(), "boom") || !strings.Contains((*p).Error(), "handler of handlers") {
		t.Fatalf("otel.Handle got %v, want both panics", p)
	}
}

// TestEngineConcurrentSafe races senders, waiters and snapshots against a
// Shutdown, and requires that every command accepted gets exactly one
// result and reaches the log, and that nothing refused does.
func TestEngineConcurrentSafe(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer // written only by the matching goroutine
	e, err := orderbook.NewEngine(&buf, orderbook.WithQueueSize(64), orderbook.WithBatchSize(16))
	if err != nil {
		t.Fatal(err)
	}
	var accepted, results atomic.Int64
	count := func(res orderbook.Result) {
		if res.Err == nil {
			results.Add(1)
		}
	}
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			s := newCommandStream(uint64(p), 5)
			s.nextID, s.step = orderbook.OrderID(p+1), 4
			for i := 0; ; i++ {
				var err error
				switch i % 3 {
				case 0:
					err = e.Send(ctx, s.next(), count)
				case 1:
					_, _, err = e.Do(ctx, s.next(), nil)
					if err == nil {
						results.Add(1)
					}
				default:
					_, _, err = e.Snapshot(ctx)
					if err == nil {
						continue
					}
				}
				if errors.Is(err, orderbook.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("unexpected error: %v", err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	for results.Load() < 500 {
		if _, _, err := e.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	shutdown(t, e)
	wg.Wait()
	b, n, err := orderbook.Replay(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if accepted.Load() != results.Load() || n != uint64(accepted.Load()) {
		t.Fatalf("accepted %d, results %d, logged %d", accepted.Load(), results.Load(), n)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
