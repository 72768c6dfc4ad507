package orderbook_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// TestRestoreBookContinuesAlike snapshots a book at random points of a
// random command stream, restores each snapshot, and feeds every later
// command to the original and to every restored book: their events must
// be identical command by command and their snapshots equal at the end.
func TestRestoreBookContinuesAlike(t *testing.T) {
	type stream struct {
		seed   uint64
		prices int
	}
	for _, st := range []stream{{uint64(time.Now().UnixNano()), 11}, {1, 11}, {2, 11}, {3, 400}} {
		t.Run(fmt.Sprintf("seed=%d/prices=%d", st.seed, st.prices), func(t *testing.T) {
			t.Logf("seed %d", st.seed)
			commands := 100_000
			if testing.Short() {
				commands /= 10
			}
			rng := rand.New(rand.NewPCG(st.seed, 9))
			s := newCommandStream(st.seed, st.prices)
			b := orderbook.NewBook(orderbook.STP(st.seed % 3))
			var restored []*orderbook.Book
			var want, got []orderbook.Event
			stops := 0
			for i := range commands {
				if rng.IntN(commands/40) == 0 {
					snap := b.AppendSnapshot(nil)
					r, err := orderbook.RestoreBook(snap)
					if err != nil {
						t.Fatalf("command %d: RestoreBook of a real snapshot: %v", i, err)
					}
					if err := r.CheckInvariants(); err != nil {
						t.Fatalf("command %d: restored book: %v", i, err)
					}
					if !bytes.Equal(r.AppendSnapshot(nil), snap) || r.Len() != b.Len() {
						t.Fatalf("command %d: the restored book's snapshot differs from the one it came from", i)
					}
					restored = append(restored, r)
				}
				c := s.next()
				want = b.Apply(c, want[:0])
				for _, ev := range want {
					if ev.Kind == orderbook.Pending {
						stops++
					}
				}
				for k, r := range restored {
					if got = r.Apply(c, got[:0]); !slices.Equal(got, want) {
						t.Fatalf("command %d (%+v): restored book %d answered\n%+v\nwhere the original answered\n%+v", i, c, k, got, want)
					}
				}
			}
			if len(restored) == 0 || stops == 0 {
				t.Fatalf("%d restores and %d pending stops: the test did not test", len(restored), stops)
			}
			final := b.AppendSnapshot(nil)
			for k, r := range restored {
				if !bytes.Equal(r.AppendSnapshot(nil), final) {
					t.Fatalf("restored book %d ends with a different snapshot", k)
				}
				if err := r.CheckInvariants(); err != nil {
					t.Fatalf("restored book %d at the end: %v", k, err)
				}
			}
			t.Logf("%d restores, %d orders resting at the end", len(restored), b.Len())
		})
	}
}

// Helpers that spell snapshot fields by hand.
func u(x uint64) []byte { return binary.AppendUvarint(nil, x) }
func v(x int64) []byte  { return binary.AppendVarint(nil, x) }

// snapshotOf spells a snapshot: the magic bytes, the parts, and the
// checksum, so that RestoreBook looks past it at the parts.
func snapshotOf(parts ...[]byte) []byte {
	return seal(slices.Concat(append([][]byte{[]byte("OTLPGOS\x02")}, parts...)...))
}

// seal appends the CRC-32C trailer AppendSnapshot ends a snapshot with.
func seal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(slices.Clip(body), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// noLevels is a side with no levels.
var noLevels = u(0)

// oneOrder is a side with one level at price holding one order.
func oneOrder(price int64, id uint64, qty int64) []byte {
	return slices.Concat(u(1), v(price), u(1), u(id), u(0), v(qty))
}

// flipped returns a copy of b with byte i's lowest bit flipped.
func flipped(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 1
	return c
}

func TestRestoreBookRejects(t *testing.T) {
	b := orderbook.NewBook()
	var events []orderbook.Event
	for _, o := range []orderbook.Order{
		{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 99, Qty: 5},
		{ID: 2, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 101, Qty: 5, Owner: 7},
		{ID: 3, Side: orderbook.Buy, Kind: orderbook.StopLimit, Stop: 105, Price: 106, Qty: 2},
		{ID: 4, Side: orderbook.Sell, Kind: orderbook.Stop, Stop: 90, Qty: 3},
	} {
		events = b.Submit(o, events[:0])
	}
	good := b.AppendSnapshot(nil)
	if _, err := orderbook.RestoreBook(good); err != nil {
		t.Fatalf("a real snapshot: %v", err)
	}
	cases := map[string][]byte{
		"nil":                   nil,
		"not a snapshot":        []byte("OTLPGOL\x01 a command log"),
		"magic only":            []byte("OTLPGOS\x02"),
		"magic sealed":          seal([]byte("OTLPGOS\x02")),
		"version 1":             seal([]byte("OTLPGOS\x01\x00\x00\x00\x00\x00\x00")),
		"trailing byte":         append(slices.Clone(good), 0),
		"trailing byte, sealed": seal(append(slices.Clone(good[:len(good)-4]), 0)),
		"a flipped byte":        flipped(good, len(good)-5),
		"bad policy":            snapshotOf([]byte{9}, v(0), noLevels, noLevels, noLevels, noLevels),
		"negative last":         snapshotOf([]byte{0}, v(-1), noLevels, noLevels, noLevels, noLevels),
		"redundant varint": snapshotOf([]byte{0}, []byte{0x80, 0x00}, noLevels, noLevels, noLevels,
			noLevels),
		"crossed":                 snapshotOf([]byte{0}, v(0), oneOrder(105, 1, 5), oneOrder(100, 2, 5), noLevels, noLevels),
		"duplicate ID":            snapshotOf([]byte{0}, v(0), oneOrder(99, 1, 5), oneOrder(101, 1, 5), noLevels, noLevels),
		"zero ID":                 snapshotOf([]byte{0}, v(0), oneOrder(99, 0, 5), noLevels, noLevels, noLevels),
		"zero quantity":           snapshotOf([]byte{0}, v(0), oneOrder(99, 1, 0), noLevels, noLevels, noLevels),
		"above MaxQty":            snapshotOf([]byte{0}, v(0), oneOrder(99, 1, int64(orderbook.MaxQty)+1), noLevels, noLevels, noLevels),
		"zero price":              snapshotOf([]byte{0}, v(0), oneOrder(0, 1, 5), noLevels, noLevels, noLevels),
		"empty level":             snapshotOf([]byte{0}, v(0), slices.Concat(u(1), v(99), u(0)), noLevels, noLevels, noLevels),
		"bid levels out of order": snapshotOf([]byte{0}, v(0), slices.Concat(u(2), v(98), u(1), u(1), u(0), v(5), v(99), u(1), u(2), u(0), v(5)), noLevels, noLevels, noLevels),
		"stop kind":               snapshotOf([]byte{0}, v(0), noLevels, noLevels, slices.Concat(u(1), v(105), u(1), u(1), u(0), v(5), []byte{byte(orderbook.Limit)}, v(0)), noLevels),
		"stop-limit without a limit": snapshotOf([]byte{0}, v(0), noLevels, noLevels,
			slices.Concat(u(1), v(105), u(1), u(1), u(0), v(5), []byte{byte(orderbook.StopLimit)}, v(0)), noLevels),
		"stop already reached": snapshotOf([]byte{0}, v(110), noLevels, noLevels,
			slices.Concat(u(1), v(105), u(1), u(1), u(0), v(5), []byte{byte(orderbook.Stop)}, v(0)), noLevels),
		"huge level count": snapshotOf([]byte{0}, v(0), u(1<<62)),
		"huge order count": snapshotOf([]byte{0}, v(0), u(1), v(99), u(1<<62)),
		"sell stop already reached": snapshotOf([]byte{0}, v(80), noLevels, noLevels, noLevels,
			slices.Concat(u(1), v(90), u(1), u(1), u(0), v(5), []byte{byte(orderbook.Stop)}, v(0))),
		"buy stop levels out of order": snapshotOf([]byte{0}, v(0), noLevels, noLevels,
			slices.Concat(u(2), v(106), u(1), u(1), u(0), v(5), []byte{byte(orderbook.Stop)}, v(0), v(105), u(1), u(2), u(0), v(5), []byte{byte(orderbook.Stop)}, v(0)), noLevels),
		"one price twice": snapshotOf([]byte{0}, v(0), slices.Concat(u(2), v(99), u(1), u(1), u(0), v(5), v(99), u(1), u(2), u(0), v(5)), noLevels, noLevels, noLevels),
		"an ID resting and pending": snapshotOf([]byte{0}, v(0), oneOrder(99, 1, 5), noLevels,
			slices.Concat(u(1), v(105), u(1), u(1), u(0), v(5), []byte{byte(orderbook.Stop)}, v(0)), noLevels),
		"negative stop limit": snapshotOf([]byte{0}, v(0), noLevels, noLevels,
			slices.Concat(u(1), v(105), u(1), u(1), u(0), v(5), []byte{byte(orderbook.StopLimit)}, v(-3)), noLevels),
	}
	for i := range good {
		cases[fmt.Sprintf("cut at byte %d", i)] = good[:i]
	}
	for name, data := range cases {
		b, err := orderbook.RestoreBook(data)
		if !errors.Is(err, orderbook.ErrCorruptSnapshot) || b != nil {
			t.Errorf("%s: RestoreBook returned a book: %t, error %v; want no book and ErrCorruptSnapshot", name, b != nil, err)
		}
	}
	_, err := orderbook.RestoreBook(cases["crossed"])
	t.Logf("a crossed book: %v", err)
}

// FuzzRestoreBook: RestoreBook never panics, rejects with
// ErrCorruptSnapshot, and a book it accepts holds its invariants, has the
// input as its snapshot, and goes on matching without breaking them. Each
// input is tried as it is and sealed with a valid checksum (seal), so
// that the fuzzer reaches the decoder behind the checksum too. The seeds
// are real snapshots, foreign files of 1 to 3 bytes, a log, another
// version, and damaged and cut snapshots.
func FuzzRestoreBook(f *testing.F) {
	for seed := range uint64(4) {
		s := newCommandStream(seed, 11)
		b := orderbook.NewBook(orderbook.STP(seed % 3))
		var events []orderbook.Event
		for range 300 * (seed + 1) {
			events = b.Apply(s.next(), events[:0])
		}
		f.Add(b.AppendSnapshot(nil))
	}
	good := snapshotOf([]byte{0}, v(0), oneOrder(99, 1, 5), oneOrder(101, 2, 5), noLevels, noLevels)
	f.Add(good)
	for _, foreign := range []string{"", "x", "\xff\xfe", "id\n", "OTLPGOB\x02\x00", "OTLPGOS\x01\x00\x00\x00\x00\x00\x00"} {
		f.Add([]byte(foreign))
	}
	f.Add(good[:len(good)-1])
	f.Add(good[:len(good)-4]) // the body without its checksum: sealed, a real snapshot
	for _, i := range []int{8, 12, len(good) - 1} {
		f.Add(flipped(good, i))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		restoreOne(t, data)
		restoreOne(t, seal(data))
	})
}

// restoreOne is FuzzRestoreBook's check of one input.
func restoreOne(t *testing.T, data []byte) {
	b, err := orderbook.RestoreBook(data)
	if err != nil {
		if !errors.Is(err, orderbook.ErrCorruptSnapshot) || b != nil {
			t.Fatalf("RestoreBook returned a book: %t, error %v; want no book and ErrCorruptSnapshot", b != nil, err)
		}
		return
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.AppendSnapshot(nil), data) {
		t.Fatal("an accepted snapshot is not the restored book's snapshot")
	}
	s := newCommandStream(uint64(len(data)), 11)
	s.nextID = 1 << 40 // clear of the IDs seed snapshots hold (a clash is only a rejected duplicate)
	var events []orderbook.Event
	for range 50 {
		events = b.Apply(s.next(), events[:0])
		if err := b.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	}
}
