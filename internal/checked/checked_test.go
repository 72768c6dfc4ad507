package checked

import (
	"math"
	"math/big"
	"testing"
)

var edges = []int64{
	0, 1, -1, 2, -2, 3, 10, -10, 1 << 31, -(1 << 31), 1<<32 + 7, 3037000499, 3037000500, -3037000500,
	1 << 62, -(1 << 62), math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
}

// reference computes op exactly with math/big and reports whether it fits.
func reference(a, b int64, op func(z, x, y *big.Int) *big.Int) (int64, bool) {
	z := op(new(big.Int), big.NewInt(a), big.NewInt(b))
	if !z.IsInt64() {
		return 0, false
	}
	return z.Int64(), true
}

func check(t *testing.T, a, b int64) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  func(a, b int64) (int64, bool)
		ref  func(z, x, y *big.Int) *big.Int
	}{
		{"Mul", Mul, (*big.Int).Mul},
		{"Add", Add, (*big.Int).Add},
		{"Sub", Sub, (*big.Int).Sub},
	} {
		got, gotOK := c.got(a, b)
		want, wantOK := reference(a, b, c.ref)
		if got != want || gotOK != wantOK {
			t.Fatalf("%s(%d, %d) = %d, %v; want %d, %v", c.name, a, b, got, gotOK, want, wantOK)
		}
	}
}

func TestEdges(t *testing.T) {
	for _, a := range edges {
		for _, b := range edges {
			check(t, a, b)
		}
	}
}

func FuzzChecked(f *testing.F) {
	for _, a := range edges {
		f.Add(a, a)
		f.Add(a, -a)
	}
	f.Fuzz(func(t *testing.T, a, b int64) { check(t, a, b) })
}
