package sampler

import (
	"hash/maphash"
	"math"
	"slices"
	"sync/atomic"
)

// fairBuckets is how many buckets WithFairness hashes root span names
// into. Memory is fixed (16 bytes a bucket) whatever the number of names;
// a rare name that shares a bucket with a hot one (about hot names / 4096
// of the time) is not raised.
const fairBuckets = 4096

// fairTable counts roots per bucket of names and holds each raised
// bucket's decision.
type fairTable struct {
	seed    maphash.Seed
	buckets [fairBuckets]fairBucket
}

type fairBucket struct {
	arrivals atomic.Int64             // roots this interval
	d        atomic.Pointer[decision] // nil: the global decision applies
}

func newFairTable() *fairTable { return &fairTable{seed: maphash.MakeSeed()} }

// decide counts a root named name and returns the decision for it: its
// bucket's when raised, else d.
func (f *fairTable) decide(name string, d *decision) *decision {
	b := &f.buckets[maphash.String(f.seed, name)&(fairBuckets-1)]
	b.arrivals.Add(1)
	if nd := b.d.Load(); nd != nil {
		return nd
	}
	return d
}

// arrivals returns the roots counted this interval; shares starts the
// next.
func (f *fairTable) arrivals() float64 {
	var n int64
	for i := range f.buckets {
		n += f.buckets[i].arrivals.Load()
	}
	return float64(n)
}

// shares gives every bucket of names at least fairMin sampled roots per
// second where it has the traffic, within the budget: the roots that the
// base probability would sample (base × roots) are shared max-min fairly,
// no bucket raised above fairMin, and the base probability for the
// remaining buckets is lowered to pay for the raised ones. When the
// buckets' minimums alone would pass the budget, the minimum is lowered
// until they fit, so the budget holds with any number of names. It
// returns the base probability and publishes each bucket's decision.
// a.mu is held.
func (f *fairTable) shares(a *Adaptive, base, roots, secs, boost float64) float64 {
	var idx []int // the buckets that saw roots, and their rates
	var rates []float64
	for i := range f.buckets {
		f.buckets[i].d.Store(nil)
		if n := f.buckets[i].arrivals.Swap(0); n > 0 {
			idx, rates = append(idx, i), append(rates, float64(n)/secs)
		}
	}
	if len(rates) == 0 || !(roots > 0) {
		return base
	}
	target := min(base, a.cfg.ceiling) * roots // sampled roots per second to share
	m := a.cfg.fairMin
	if g := capped(rates, m); g > target {
		m = level(rates, target) // even the minimums do not fit: max-min fair
	}
	// The base probability q for buckets above the level solves
	// sum(max(q*r, min(r, m))) = target; find it by bisection.
	lo, hi := 0.0, min(base, a.cfg.ceiling)
	for range 60 {
		q := (lo + hi) / 2
		var s float64
		for _, r := range rates {
			s += max(q*r, min(r, m))
		}
		if s > target {
			hi = q
		} else {
			lo = q
		}
	}
	q := max(lo, a.cfg.floor)
	for j, r := range rates {
		if q*r < min(r, m) {
			f.buckets[idx[j]].d.Store(a.makeDecision(min(r, m)/r*boost, boost, math.Inf(1)))
		}
	}
	return q
}

// capped returns sum(min(r, m)) over rates.
func capped(rates []float64, m float64) float64 {
	var s float64
	for _, r := range rates {
		s += min(r, m)
	}
	return s
}

// level returns the m for which sum(min(r, m)) over rates is target,
// assuming sum(rates) > target.
func level(rates []float64, target float64) float64 {
	sorted := slices.Clone(rates)
	slices.Sort(sorted)
	var below float64 // sum of the rates under the level
	for i, r := range sorted {
		rest := float64(len(sorted) - i)
		if below+r*rest >= target {
			return (target - below) / rest
		}
		below += r
	}
	return sorted[len(sorted)-1]
}
