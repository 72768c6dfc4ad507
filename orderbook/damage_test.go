package orderbook_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/panics"
)

// outcome is how a damaged input ended.
type outcome int

const (
	typedError outcome = iota // an error errors.Is a sentinel, and no wrong book
	recovered                 // no error, and exactly the book it should be
	panicked                  // a panic: always a failure
	silent                    // a wrong book (with or without an error), an untyped error, or a changed file: always a failure
	outcomes
)

var outcomeNames = [outcomes]string{"typed error", "recovered", "panic", "silent"}

// damageMatrix counts outcomes by format and case, and keeps the first
// few failures to report.
type damageMatrix struct {
	rows     []string
	counts   map[string]*[outcomes]int
	failures []string
}

func (m *damageMatrix) add(row string, o outcome, what string) {
	if m.counts == nil {
		m.counts = map[string]*[outcomes]int{}
	}
	c := m.counts[row]
	if c == nil {
		c = new([outcomes]int)
		m.counts[row] = c
		m.rows = append(m.rows, row)
	}
	c[o]++
	if o == panicked || o == silent {
		m.failures = append(m.failures, fmt.Sprintf("%s: %s: %s", row, outcomeNames[o], what))
	}
}

// report logs the table and fails on any panic or silent outcome.
func (m *damageMatrix) report(t *testing.T) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-34s %7s %11s %9s %5s %6s\n", "format / case", "cases", outcomeNames[0], outcomeNames[1], outcomeNames[2], outcomeNames[3])
	for _, row := range m.rows {
		c := m.counts[row]
		fmt.Fprintf(&b, "%-34s %7d %11d %9d %5d %6d\n", row, c[0]+c[1]+c[2]+c[3], c[0], c[1], c[2], c[3])
	}
	t.Log(b.String())
	for i, f := range m.failures {
		if i == 20 {
			t.Errorf("... and %d more", len(m.failures)-i)
			break
		}
		t.Error(f)
	}
}

// flips returns the XOR masks a byte is damaged with: every single bit
// and all bits when thorough, else one bit (chosen by the byte's
// position, so that every bit is hit across bytes) and all bits.
func flips(i int, thorough bool) []byte {
	if thorough {
		return []byte{1, 2, 4, 8, 16, 32, 64, 128, 0xff}
	}
	return []byte{1 << (i % 8), 0xff}
}

// logLayout walks a well-formed command log and returns the offset where
// each frame ends (the header's end first) and which of the log's bytes
// are headers (the log's or a frame's).
func logLayout(tb testing.TB, log []byte) (ends []int, header []bool) {
	tb.Helper()
	const logHeader = 13 // magic, policy, CRC-32C
	header = make([]bool, len(log))
	for i := range logHeader {
		header[i] = true
	}
	ends = []int{logHeader}
	for off := logHeader; off < len(log); {
		size, n := binary.Uvarint(log[off:])
		if n <= 0 {
			tb.Fatalf("frame at %d: bad length", off)
		}
		for i := off; i < off+n+8; i++ {
			header[i] = true
		}
		off += n + 8 + int(size)
		ends = append(ends, off)
	}
	if ends[len(ends)-1] != len(log) {
		tb.Fatalf("frames end at %d, the log at %d", ends[len(ends)-1], len(log))
	}
	return ends, header
}

// TestDamageMatrix damages every durable format orderbook writes, the
// command log (read by Replay and by OpenEngine) and the snapshot (read
// by RestoreBook), by cutting it at every length and by flipping bits of
// its bytes, and requires every case to end in an error that errors.Is a
// sentinel, or in a correct recovery: a log cut at or inside a frame
// recovers exactly the book of the whole frames before the cut, as a
// book built by applying those commands shows. Never a panic, never a
// different book, never an empty book without an error, and OpenEngine
// never changes a file it refuses. The table of outcomes is logged.
func TestDamageMatrix(t *testing.T) {
	var m damageMatrix
	t.Cleanup(func() { m.report(t) })
	t.Run("log", func(t *testing.T) { damageLog(t, &m) })
	t.Run("snapshot", func(t *testing.T) { damageSnapshot(t, &m) })
}

func damageLog(t *testing.T, m *damageMatrix) {
	log := engineLog(t, 250, 10)
	ends, header := logLayout(t, log)
	// The book of each prefix of whole frames, built from the commands
	// alone: ReadLog for the commands, Book.Apply for the book.
	var cmds []orderbook.Command
	if err := orderbook.ReadLog(bytes.NewReader(log), func(_ uint64, c orderbook.Command) error {
		cmds = append(cmds, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	prefix := map[int][]byte{} // frame end -> snapshot of the book of its commands
	b := orderbook.NewBook()
	applied := 0
	for _, end := range ends {
		n := 0
		if err := orderbook.ReadLog(bytes.NewReader(log[:end]), func(uint64, orderbook.Command) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		for ; applied < n; applied++ {
			b.Apply(cmds[applied], nil)
		}
		prefix[end] = b.AppendSnapshot(nil)
	}
	full := prefix[len(log)]
	start := time.Now()
	// wholeFrames returns the end of the last whole frame within log[:n]
	// (0 if not even the header is whole).
	wholeFrames := func(n int) int {
		i, found := slices.BinarySearch(ends, n)
		if found {
			return ends[i]
		}
		if i == 0 {
			return 0
		}
		return ends[i-1]
	}

	// replay classifies Replay of data against the book it must give:
	// want when it reports no error, and the book of whole frames before
	// the damage (at damageAt) when it returns one with an error. A flip
	// must not read as a torn frame unless it is in the last frame: the
	// bytes are all there, and OpenEngine cuts a torn frame off with
	// everything after it.
	replay := func(row string, data []byte, want []byte, damageAt int, flip bool, what string) {
		var book *orderbook.Book
		var err error
		if perr := panics.Try(func() error { book, _, err = orderbook.Replay(bytes.NewReader(data)); return nil }); perr != nil {
			m.add(row, panicked, fmt.Sprintf("%s: %v", what, perr))
			return
		}
		o := classifyLog(book, err, want, prefix[wholeFrames(damageAt)])
		if flip && errors.Is(err, orderbook.ErrTruncatedLog) && damageAt < ends[len(ends)-2] {
			o = silent
		}
		m.add(row, o, fmt.Sprintf("%s: %v", what, err))
	}
	// Every interesting length: all of the log's header, every byte of
	// every frame's header and one past it, and a stride of the rest.
	for n := 0; n <= len(log); n++ {
		if n > ends[0] && (n >= len(header) || !header[n]) && (n == 0 || !header[n-1]) && n%7 != 0 && n != len(log) {
			continue
		}
		want := prefix[wholeFrames(n)]
		if n < ends[0] {
			want = nil // no header: no book, only an error
		}
		replay("log/Replay/truncate", log[:n], want, n, false, fmt.Sprintf("cut at %d", n))
	}
	// Every bit of every header byte (the log's and every frame's), and a
	// third of the payload bytes, each with one bit flipped (a different
	// bit from byte to byte) and every ninth with all bits flipped.
	flipped := 0
	for i := range log {
		masks := flips(i, header[i])
		switch {
		case header[i]:
		case i%9 == 0:
		case i%3 == 0:
			masks = masks[:1]
		default:
			continue
		}
		for _, mask := range masks {
			data := slices.Clone(log)
			data[i] ^= mask
			replay("log/Replay/flip", data, full, i, true, fmt.Sprintf("byte %d ^ %#x", i, mask))
			flipped++
		}
	}
	t.Logf("Replay cases took %v", time.Since(start))
	openStart := time.Now()
	// OpenEngine on a sample: every length in the header and around each
	// frame boundary, a stride of the rest, and flips of every header byte
	// and a stride of payload bytes.
	dir := t.TempDir()
	open := func(row string, data []byte, wantBook []byte, wantFile []byte, what string) {
		path := filepath.Join(dir, "book.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var snap []byte
		var err error
		if perr := panics.Try(func() error {
			var e *orderbook.Engine
			if e, err = orderbook.OpenEngine(path, orderbook.WithQueueSize(64)); err != nil {
				return nil
			}
			snap, _, _ = e.Snapshot(context.Background())
			return e.Shutdown(context.Background())
		}); perr != nil {
			m.add(row, panicked, fmt.Sprintf("%s: %v", what, perr))
			return
		}
		after, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		switch {
		case err != nil && (errors.Is(err, orderbook.ErrCorruptLog) || errors.Is(err, orderbook.ErrTruncatedLog)) && bytes.Equal(after, data):
			m.add(row, typedError, what)
		case err != nil:
			m.add(row, silent, fmt.Sprintf("%s: %v (file changed: %t)", what, err, !bytes.Equal(after, data)))
		case wantBook != nil && bytes.Equal(snap, wantBook) && bytes.Equal(after, wantFile):
			m.add(row, recovered, what)
		default:
			m.add(row, silent, fmt.Sprintf("%s: opened with the book wanted: %t, the file wanted: %t", what, bytes.Equal(snap, wantBook), bytes.Equal(after, wantFile)))
		}
	}
	var cuts []int
	for n := 0; n <= ends[0]+1; n++ {
		cuts = append(cuts, n)
	}
	for _, e := range ends[1:] {
		cuts = append(cuts, e-1, e, e+1)
	}
	for n := 0; n < len(log); n += 97 {
		cuts = append(cuts, n)
	}
	slices.Sort(cuts)
	for _, n := range slices.Compact(cuts) {
		if n > len(log) {
			continue
		}
		var wantBook, wantFile []byte
		switch w := wholeFrames(n); {
		case n == 0: // an empty file: a new log
			wantBook, wantFile = orderbook.NewBook().AppendSnapshot(nil), log[:ends[0]]
		case n >= ends[0]: // cut back to the whole frames
			wantBook, wantFile = prefix[w], log[:w]
		}
		open("log/OpenEngine/truncate", log[:n], wantBook, wantFile, fmt.Sprintf("cut at %d", n))
	}
	frame := 0 // the frame of byte i, counting the log's header as 0
	for i := range log {
		if i == ends[frame] {
			frame++
		}
		// Every byte of the log's header and of every third frame's, and
		// a stride of the rest.
		if !(header[i] && frame%3 == 0) && i%53 != 0 {
			continue
		}
		masks := flips(i, false) // one bit and all bits (so the high bit of a length byte too)
		if !header[i] {
			masks = masks[:1]
		}
		for _, mask := range masks {
			data := slices.Clone(log)
			data[i] ^= mask
			open("log/OpenEngine/flip", data, full, log, fmt.Sprintf("byte %d ^ %#x", i, mask))
		}
	}
	t.Logf("OpenEngine cases took %v", time.Since(openStart))
	t.Logf("log of %d commands in %d frames, %d bytes; %d flips", len(cmds), len(ends)-1, len(log), flipped)
}

// classifyLog classifies what Replay returned: no error and the book
// wanted (nil if none may be), or a typed error with no book or the book
// of the whole frames before the damage.
func classifyLog(book *orderbook.Book, err error, want, beforeDamage []byte) outcome {
	snap := func() []byte {
		if book == nil {
			return nil
		}
		if book.CheckInvariants() != nil {
			return []byte("broken")
		}
		return book.AppendSnapshot(nil)
	}
	switch {
	case err == nil:
		if want != nil && bytes.Equal(snap(), want) {
			return recovered
		}
		return silent
	case !errors.Is(err, orderbook.ErrCorruptLog) && !errors.Is(err, orderbook.ErrTruncatedLog):
		return silent // untyped
	case book == nil || bytes.Equal(snap(), beforeDamage):
		return typedError
	}
	return silent
}

func damageSnapshot(t *testing.T, m *damageMatrix) {
	b := orderbook.NewBook(orderbook.CancelOldest)
	s := newCommandStream(5, 11)
	for range 600 {
		b.Apply(s.next(), nil)
	}
	// Every side of the book and both stop queues, away from the market.
	id := orderbook.OrderID(1 << 40) // clear of the stream's IDs
	for i := range 8 {
		p := orderbook.Price(i % 4)
		for _, o := range []orderbook.Order{
			{Side: orderbook.Buy, Kind: orderbook.Limit, Price: 50 + p},
			{Side: orderbook.Sell, Kind: orderbook.PostOnly, Price: 200 + p},
			{Side: orderbook.Buy, Kind: orderbook.Stop, Stop: 300 + p},
			{Side: orderbook.Sell, Kind: orderbook.StopLimit, Stop: 20 - p, Price: 10},
		} {
			id++
			o.ID, o.Qty, o.Owner = id, orderbook.Qty(1+i), uint64(i%3)
			if ev := b.Submit(o, nil); ev[0].Kind == orderbook.Rejected {
				t.Fatalf("%+v: %+v", o, ev)
			}
		}
	}
	snap := b.AppendSnapshot(nil)
	restore := func(row string, data []byte, what string) {
		var got *orderbook.Book
		var err error
		if perr := panics.Try(func() error { got, err = orderbook.RestoreBook(data); return nil }); perr != nil {
			m.add(row, panicked, fmt.Sprintf("%s: %v", what, perr))
			return
		}
		switch {
		case err != nil && errors.Is(err, orderbook.ErrCorruptSnapshot) && got == nil:
			m.add(row, typedError, what)
		case err == nil && got.CheckInvariants() == nil && bytes.Equal(got.AppendSnapshot(nil), snap):
			m.add(row, recovered, what)
		default:
			m.add(row, silent, fmt.Sprintf("%s: %v", what, err))
		}
	}
	for n := 0; n <= len(snap); n++ {
		restore("snapshot/RestoreBook/truncate", snap[:n], fmt.Sprintf("cut at %d", n))
	}
	for i := range snap {
		for _, mask := range flips(i, true) {
			data := slices.Clone(snap)
			data[i] ^= mask
			restore("snapshot/RestoreBook/flip", data, fmt.Sprintf("byte %d ^ %#x", i, mask))
		}
	}
	restore("snapshot/RestoreBook/append", append(slices.Clone(snap), 0), "a byte appended")
	t.Logf("snapshot of %d resting orders, %d bytes", b.Len(), len(snap))
}
