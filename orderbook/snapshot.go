package orderbook

import "encoding/binary"

const snapshotMagic = "OTLPGOS\x01"

// AppendSnapshot appends the book's whole state in a canonical binary
// form to dst: its self-trade prevention policy and last trade price,
// then for bids and then asks each level from the best, with every
// resting order's ID, owner and quantity in queue order, then the pending
// buy and sell stop orders in the order they would trigger, with their
// kinds and limit prices. Two books that would answer every future command
// alike have equal snapshots, and a book rebuilt by Replay from an
// Engine's log has the snapshot the Engine's book had, byte for byte. It
// costs one pass over the orders.
func (b *Book) AppendSnapshot(dst []byte) []byte {
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
	return dst
}
