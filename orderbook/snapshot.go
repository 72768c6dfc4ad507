package orderbook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

const snapshotMagic = "OTLPGOS\x02" // the last byte is the format's version

// ErrCorruptSnapshot is returned by RestoreBook for bytes that are not a
// snapshot AppendSnapshot wrote: wrong magic bytes or version, a checksum
// that does not match (any damaged byte, cut short or followed by more),
// a value out of range, or a state no book can be in (levels out of
// order, a crossed book, an order ID twice, a pending stop that the last
// trade price has reached).
var ErrCorruptSnapshot = errors.New("orderbook: corrupt snapshot")

// AppendSnapshot appends the book's whole state in a canonical binary
// form to dst: its self-trade prevention policy and last trade price,
// then for bids and then asks each level from the best, with every
// resting order's ID, owner and quantity in queue order, then the pending
// buy and sell stop orders in the order they would trigger, with their
// kinds and limit prices, and last the CRC-32C (little endian) of all
// that, so that RestoreBook refuses a snapshot damaged anywhere rather
// than restore another book. Two books that would answer every future
// command alike have equal snapshots, and a book rebuilt by Replay from
// an Engine's log has the snapshot the Engine's book had, byte for byte.
// It costs one pass over the orders.
func (b *Book) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(append(dst, snapshotMagic...), byte(b.stp))
	dst = binary.AppendVarint(dst, int64(b.last))
	for _, s := range []*bookSide{&b.bids, &b.asks, &b.buyStops, &b.sellStops} {
		stops := s == &b.buyStops || s == &b.sellStops
		dst = binary.AppendUvarint(dst, uint64(len(s.levels)))
		for i := len(s.levels) - 1; i >= 0; i-- {
			l := s.levels[i]
			dst = binary.AppendVarint(dst, int64(l.price))
			dst = binary.AppendUvarint(dst, uint64(l.count))
			for o := l.head; o != nil; o = o.next {
				dst = binary.AppendUvarint(dst, uint64(o.id))
				dst = binary.AppendUvarint(dst, o.owner)
				dst = binary.AppendVarint(dst, int64(o.qty))
				if stops {
					dst = append(dst, byte(o.kind))
					dst = binary.AppendVarint(dst, int64(o.limit))
				}
			}
		}
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crcTable))
}

// RestoreBook rebuilds the book a snapshot was taken of: the same resting
// orders in the same queue order, the same pending stop orders, policy and
// last trade price, so that it answers every later command exactly as that
// book would have. With Engine.Snapshot's sequence number, a Book (a
// replica, a recovery tool) is rebuilt from the snapshot and the log's
// commands after it (ReadLog and Book.Apply) instead of the whole log;
// OpenEngine itself still replays its whole file. It costs ~160-230 ns an
// order, validation included. Anything but the bytes of AppendSnapshot
// returns an error wrapping ErrCorruptSnapshot that says what is wrong;
// RestoreBook never panics on bad input.
func RestoreBook(snapshot []byte) (*Book, error) {
	switch {
	case bytes.HasPrefix(snapshot, []byte(snapshotMagic[:len(snapshotMagic)-1])) && len(snapshot) >= len(snapshotMagic) && snapshot[len(snapshotMagic)-1] != snapshotMagic[len(snapshotMagic)-1]:
		return nil, fmt.Errorf("%w: format version %d, not %d", ErrCorruptSnapshot, snapshot[len(snapshotMagic)-1], snapshotMagic[len(snapshotMagic)-1])
	case !bytes.HasPrefix(snapshot, []byte(snapshotMagic)):
		return nil, fmt.Errorf("%w: not a snapshot (bad magic bytes)", ErrCorruptSnapshot)
	case len(snapshot) < len(snapshotMagic)+4:
		return nil, fmt.Errorf("%w: cut short", ErrCorruptSnapshot)
	}
	body := snapshot[:len(snapshot)-4]
	if binary.LittleEndian.Uint32(snapshot[len(body):]) != crc32.Checksum(body, crcTable) {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged, cut short or followed by more)", ErrCorruptSnapshot)
	}
	r := decoder{b: body, off: len(snapshotMagic), kind: ErrCorruptSnapshot}
	stp := STP(r.byte())
	if r.err == nil && stp > CancelBoth {
		r.fail(fmt.Sprintf("self-trade prevention policy %d", stp))
	}
	b := NewBook(stp)
	if b.last = Price(r.varint()); b.last < 0 {
		r.fail(fmt.Sprintf("last trade price %d", b.last))
	}
	for _, s := range []*bookSide{&b.bids, &b.asks, &b.buyStops, &b.sellStops} {
		restoreSide(b, s, &r)
	}
	switch {
	case r.err != nil:
		return nil, r.err
	case r.off != len(body):
		return nil, fmt.Errorf("%w: %d bytes after the snapshot", ErrCorruptSnapshot, len(body)-r.off)
	}
	// Within a level the orders are consistent by construction; what the
	// bytes could still get wrong is the order of levels, a crossed book,
	// and a stop the last trade price has reached.
	if err := b.checkShape(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptSnapshot, err)
	}
	// Every value decoded in range can still be spelled in more than one
	// way (a varint with redundant bytes); only the canonical spelling is
	// a snapshot, so that equal books keep equal snapshots.
	if !bytes.Equal(b.AppendSnapshot(nil), snapshot) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrCorruptSnapshot)
	}
	return b, nil
}

// restoreSide reads one side's levels, best first as AppendSnapshot wrote
// them, into s (best last).
func restoreSide(b *Book, s *bookSide, r *decoder) {
	side, stops := Sell, s == &b.buyStops || s == &b.sellStops
	if s == &b.bids || s == &b.buyStops {
		side = Buy
	}
	// Each level and order takes at least a byte per field, so garbage
	// counts end at the first read past the end.
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		price := Price(r.varint())
		count := r.uvarint()
		if r.err == nil && (price <= 0 || count == 0) {
			r.fail(fmt.Sprintf("level at price %d with %d orders", price, count))
		}
		l := b.newLevel(price)
		for ; count > 0 && r.err == nil; count-- {
			id, owner, qty := OrderID(r.uvarint()), r.uvarint(), Qty(r.varint())
			var kind Kind
			var limit Price
			if stops {
				kind, limit = Kind(r.byte()), Price(r.varint())
			}
			switch {
			case r.err != nil:
			case id == 0:
				r.fail("order ID 0")
			case qty <= 0 || qty > MaxQty || !fits(l.qty, qty):
				r.fail(fmt.Sprintf("order %d: quantity %d", id, qty))
			case stops && !(kind == Stop && limit == 0 || kind == StopLimit && limit > 0):
				r.fail(fmt.Sprintf("stop order %d: kind %d with limit %d", id, kind, limit))
			default:
				o := b.newOrder()
				o.id, o.owner, o.side, o.kind, o.limit, o.qty, o.lvl = id, owner, side, kind, limit, qty, l
				if !b.orders.insert(id, o) {
					r.fail(fmt.Sprintf("order ID %d twice", id))
					break // r.err ends the loops
				}
				link(l, o)
				if stops {
					b.stops++
				}
			}
		}
		if r.err == nil {
			s.levels = append(s.levels, l)
		}
	}
	slices.Reverse(s.levels)
}
