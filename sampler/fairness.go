package sampler

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// fairBuckets is how many buckets WithFairness hashes root span names
// into. Memory is fixed whatever the number of names. Each name counts in
// two buckets and is decided by the quieter one, so a rare name is lost
// only when both its buckets hold hot names (about (hot names/4096)^2 of
// the time: 0.5% with 300 hot names).
const fairBuckets = 4096

// fairTable counts roots per bucket of names and holds each raised
// bucket's decision.
type fairTable struct {
	buckets [fairBuckets]fairBucket
	since   time.Duration // from the epoch to the last shares; guarded by Adaptive.mu
}

type fairBucket struct {
	arrivals atomic.Uint64            // weights of roots in the band since the last shares
	d        atomic.Pointer[decision] // nil: the global decision applies
	rate     float64                  // smoothed roots per second; guarded by Adaptive.mu
}

func newFairTable() *fairTable { return &fairTable{} }

// decide returns the decision for a root named name: the quieter of its
// two buckets' when raised, else d. Only loads: countFair counts.
// The hash is FNV-1a, fixed, so runs are reproducible; names are not
// secrets, and a client that crafts colliding names only shares a
// minimum with itself.
func (f *fairTable) decide(name string, d *decision) (*decision, *fairBucket, *fairBucket) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	b1, b2 := &f.buckets[h&(fairBuckets-1)], &f.buckets[(h>>32)&(fairBuckets-1)]
	d1, d2 := b1.d.Load(), b2.d.Load()
	switch {
	case d1 != nil && (d2 == nil || d1.p >= d2.p):
		return d1, b1, b2 // raised, and the quieter (the higher probability)
	case d2 != nil:
		return d2, b1, b2
	}
	return d, b1, b2
}

// countFair adds a root that fell in decision d's band to its buckets, at the
// band's adjusted count, as the sampler counts arrivals: a hot name at a
// low probability seldom writes, so its buckets stay cheap to share
// between cores.
func countFair(d *decision, b1, b2 *fairBucket) {
	addSat(&b1.arrivals, d.estW)
	if b2 != b1 {
		addSat(&b2.arrivals, d.estW)
	}
}

// shares gives every bucket of names at least fairMin sampled roots per
// second where it has the traffic, within the budget: the roots that the
// base probability would sample (base × roots) are shared max-min fairly,
// no bucket raised above fairMin, and the base probability for the
// remaining buckets is lowered to pay for the raised ones. When the
// buckets' minimums alone would pass the budget, the minimum is lowered
// until they fit, so the budget holds with any number of names. It
// returns the base probability and publishes each bucket's decision.
// Each bucket's rate is smoothed over intervals (half each), so a name
// that arrives about once an interval keeps its share through intervals
// it happens to miss. It runs at the regular adjustments only: an early
// one keeps the buckets' decisions. a.mu is held.
func (f *fairTable) shares(a *Adaptive, base, roots float64, tick time.Duration, boost float64) float64 {
	secs := (tick - f.since).Seconds()
	f.since = tick
	if !(secs > 0) {
		return base
	}
	var idx []int // the buckets with roots, and their rates
	var rates []float64
	for i := range f.buckets {
		b := &f.buckets[i]
		b.d.Store(nil)
		x := float64(b.arrivals.Swap(0)) / weightOne / secs
		if b.rate = 0.5*b.rate + 0.5*x; b.rate < 1e-3 {
			b.rate = 0
		}
		if b.rate > 0 {
			idx, rates = append(idx, i), append(rates, b.rate)
		}
	}
	if len(rates) == 0 || !(roots > 0) {
		return base
	}
	// Sampled roots per second to share, doubled: every root is counted in
	// two buckets.
	target := 2 * min(base, a.cfg.ceiling) * roots
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
