package orderbook

import (
	"math/bits"
	"math/rand/v2"
)

// orderIndex maps the IDs of resting orders to them. It is an open
// addressing table with linear probing and backward-shift deletion, owned
// by one book: once grown to a book's working set it never allocates, and
// it costs a few nanoseconds where a Go map costs tens for the insert and
// delete every resting order needs. IDs are non-zero, so zero marks an
// empty slot; Fibonacci hashing spreads the sequential IDs exchanges use.
type orderIndex struct {
	slots []indexSlot // len is a power of two, at most half full
	shift uint        // 64 - log2(len(slots))
	n     int
	seed  uint64 // random, set on the first grow
}

type indexSlot struct {
	id OrderID
	o  *order
}

const minIndexSlots = 64

// home is the slot an ID hashes to: Fibonacci hashing, which spreads the
// sequential IDs exchanges use, of the ID xored with the index's random
// seed, so that IDs chosen to share a slot in one index (a snapshot or a
// stream crafted against the multiplier) do not in another.
func (x *orderIndex) home(id OrderID) uint64 {
	return ((uint64(id) ^ x.seed) * 0x9E3779B97F4A7C15) >> x.shift
}

// get returns the order with the ID, or nil.
func (x *orderIndex) get(id OrderID) *order {
	if x.n == 0 {
		return nil
	}
	mask := uint64(len(x.slots) - 1)
	for i := x.home(id); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.id == id {
			return s.o
		}
		if s.id == 0 {
			return nil
		}
	}
}

// put adds an order whose ID is not in the index.
func (x *orderIndex) put(id OrderID, o *order) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := x.home(id)
	for x.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{id, o}
	x.n++
}

// insert adds an order unless its ID is in the index already, and
// reports whether it did: a get and a put in one probe.
func (x *orderIndex) insert(id OrderID, o *order) bool {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := x.home(id)
	for ; x.slots[i].id != 0; i = (i + 1) & mask {
		if x.slots[i].id == id {
			return false
		}
	}
	x.slots[i] = indexSlot{id, o}
	x.n++
	return true
}

// del removes the ID, which must be in the index, shifting later entries
// of its probe run back so that no tombstone is left.
func (x *orderIndex) del(id OrderID) {
	mask := uint64(len(x.slots) - 1)
	i := x.home(id)
	for x.slots[i].id != id {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j].id != 0; j = (j + 1) & mask {
		// The entry at j may fill the hole at i if i lies on its probe
		// path, from its home to j.
		if (j-x.home(x.slots[j].id))&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = indexSlot{}
	x.n--
}

func (x *orderIndex) grow() {
	if x.slots == nil {
		x.seed = rand.Uint64()
	}
	size := max(minIndexSlots, 2*len(x.slots))
	old := x.slots
	x.slots = make([]indexSlot, size)
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	x.n = 0
	for _, s := range old {
		if s.id != 0 {
			x.put(s.id, s.o)
		}
	}
}
