package sampler

import "math"

// boostDecay is how much of the error window each interval keeps: about
// the last 20 intervals count, so a steady ratio a fifth above the
// threshold is told from the threshold at 100 sampled roots a second.
const boostDecay = 0.95

// Confidence, in standard deviations, that the boost asks of the window
// (zWindow) and of one interval alone (zBurst) before switching.
const (
	zWindow = 2.0
	zBurst  = 3.0
)

// recentIntervals is how many consecutive intervals, each reliably below
// the threshold, switch the boost off at once.
const recentIntervals = 3

// boostState is the error boost and the evidence it switches on: decayed
// sums of the error and root weights of local root spans (the ratio), and
// of their number (the evidence). It has hysteresis: the boost switches
// on when the ratio is reliably above the threshold and off only when it
// is reliably below, so a steady ratio near the threshold never flaps.
//
//   - On: the window's lower confidence bound (2 sigma) is above the
//     threshold, or one interval's alone (3 sigma: a sudden burst).
//   - Off: the window's upper bound is below the threshold, or each of the
//     last 3 intervals' is (the burst is over).
//
// A switch decided by recent intervals alone restarts the window from
// them, so that the older intervals it overruled cannot switch it back.
// Guarded by Adaptive.mu.
type boostState struct {
	errW, rootW float64 // decayed sums of error and root weights
	n           float64 // decayed number of roots seen
	on          bool
	recent      [recentIntervals]sample // the last intervals, newest first
}

// sample is one interval's weighted error ratio and number of roots.
type sample struct{ ratio, n float64 }

// ratio is the windowed error ratio estimate, in [0, 1].
func (b *boostState) ratio() float64 {
	if !(b.rootW > 0) {
		return 0
	}
	return clamp01(b.errW / b.rootW)
}

// restart makes the window hold only the given intervals.
func (b *boostState) restart(ss ...sample) {
	b.errW, b.rootW, b.n = 0, 0, 0
	for _, s := range ss {
		b.errW += s.n * s.ratio
		b.rootW += s.n
		b.n += s.n
	}
}

// update folds in one interval of secs and returns the boost factor in
// force after it. Each interval's ratio weights roots by their adjusted
// counts (so it is unbiased whatever the probability was); intervals are
// summed in proportion to the roots they saw, so a sparse one counts
// little.
func (b *boostState) update(cfg config, secs, rootsW, errorsW, rootsN, errorsN float64) float64 {
	decay := math.Pow(boostDecay, secs/cfg.interval.Seconds())
	b.errW *= decay
	b.rootW *= decay
	b.n *= decay
	// A span ending between two counter swaps can leave weights without a
	// count, or errors above roots, in one interval: use only consistent
	// intervals.
	var cur sample
	if rootsW > 0 && rootsN > 0 {
		cur = sample{ratio: clamp01(errorsW / rootsW), n: rootsN}
		b.errW += cur.n * cur.ratio
		b.rootW += cur.n
		b.n += cur.n
	}
	copy(b.recent[1:], b.recent[:len(b.recent)-1])
	b.recent[0] = cur
	if cfg.errBoost <= 1 {
		b.on = false
		return 1
	}
	th := cfg.errThreshold
	r := b.ratio()
	switch {
	case !b.on && cur.n > 0 && errorsN >= 1 && lowerBound(cur.ratio, cur.n, zBurst) > th:
		b.on = true
		b.restart(cur)
	case !b.on && lowerBound(r, b.n, zWindow) > th:
		b.on = true
	case b.on && upperBound(r, b.n, zWindow) < th:
		b.on = false
	case b.on && b.recentBelow(th):
		b.on = false
		b.restart(b.recent[:]...)
	}
	if b.on {
		return cfg.errBoost
	}
	return 1
}

// recentBelow reports whether each of the last intervals saw roots and
// was reliably below th.
func (b *boostState) recentBelow(th float64) bool {
	for _, s := range b.recent {
		if !(s.n > 0) || upperBound(s.ratio, s.n, zWindow) >= th {
			return false
		}
	}
	return true
}

// lowerBound and upperBound are the Wilson score interval of a proportion
// p seen in n trials, at z standard deviations. With no trials they are 0
// and 1.
func lowerBound(p, n, z float64) float64 {
	c, h := wilson(p, n, z)
	return clamp01(c - h)
}

func upperBound(p, n, z float64) float64 {
	c, h := wilson(p, n, z)
	return clamp01(c + h)
}

func wilson(p, n, z float64) (center, half float64) {
	if !(n > 0) {
		return 0.5, 0.5
	}
	z2 := z * z
	d := 1 + z2/n
	center = (p + z2/(2*n)) / d
	half = z * math.Sqrt(max(0, p*(1-p)/n+z2/(4*n*n))) / d
	return center, half
}

// clamp01 brings x into [0, 1]; NaN becomes 0.
func clamp01(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return min(x, 1)
}
