package orderbook_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// TestOrderIndexAgainstMap drives the book's ID index and a Go map with the
// same random puts, gets and deletes, on IDs drawn from a small range (so
// probe runs collide and deletes shift entries back) and from sequential
// ones (the exchange pattern), through several growths.
func TestOrderIndexAgainstMap(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	for _, span := range []int64{50, 1_000, 100_000} {
		ids := make([]int64, 200_000)
		for i := range ids {
			id := 1 + rng.Int64N(span)
			if rng.IntN(3) == 0 {
				id = -id
			}
			ids[i] = id
		}
		if msg, ok := orderbook.IndexOps(ids); !ok {
			t.Fatalf("span %d: %s", span, msg)
		}
	}
}

func FuzzOrderIndex(f *testing.F) {
	f.Add([]byte{1, 2, 3, 129, 130, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		ids := make([]int64, len(b))
		for i, v := range b {
			ids[i] = int64(v & 0x7f)
			if v&0x80 != 0 {
				ids[i] = -ids[i]
			}
		}
		if msg, ok := orderbook.IndexOps(ids); !ok {
			t.Fatal(msg)
		}
	})
}

// TestOrderIndexResistsCraftedIDs: IDs chosen so that the Fibonacci
// multiplier alone sends them all to one slot at every table size (a
// snapshot or order stream crafted against it) must spread once the
// index's random seed is mixed in, or every insert would walk them all.
func TestOrderIndexResistsCraftedIDs(t *testing.T) {
	const inverse = 0xF1DE83E19937733D // of the multiplier, mod 2^64
	ids := make([]orderbook.OrderID, 20_000)
	for j := range ids {
		ids[j] = orderbook.OrderID((1<<63 + uint64(j)) * inverse)
	}
	if mean := orderbook.MeanProbe(ids); mean > 4 {
		t.Fatalf("crafted IDs: a get visits %.1f slots on average, want a few", mean)
	} else {
		t.Logf("crafted IDs: %.2f slots visited per get", mean)
	}
}
