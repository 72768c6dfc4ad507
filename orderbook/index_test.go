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
