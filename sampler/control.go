package sampler

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// This file is the control loop: the goroutine that adjusts every
// interval, the early adjustment on overload, and the estimates the
// probability is computed from.

// maxRise bounds how much the probability may rise in one adjustment when
// the evidence is thin: an interval with few roots in the band (a lull,
// or bad luck) may raise it only to what the upper confidence bound of
// the arrivals allows, or 4x, whichever is more.
const maxRise = 4.0

// overloadFactor triggers an early adjustment when the entries sampled
// since the last adjustment pass this multiple of what the budget allows
// for the time elapsed.
const overloadFactor = 2

// minOverloadSpans is the most sampled entries an overload needs to show
// (fewer at small budgets: an eighth of an interval's budget, at least
// 8): below it, chance alone would trigger early adjustments.
const minOverloadSpans = 32

// capMargin keeps the probability this far below the hard cap's rate, so
// that random bunching of sampled roots seldom empties the token bucket.
const capMargin = 0.9

// loop is the adjusting goroutine's lifecycle.
type loop struct {
	once    sync.Once   // starts the goroutine
	stopped atomic.Bool // Shutdown was called: never start
	running atomic.Bool // the goroutine adjusts the regular intervals
	stop    *stopper    // set by once; nil before
}

// stopper stops the goroutine. It does not point to the Adaptive, so a
// cleanup attached to the Adaptive can hold it.
type stopper struct {
	once sync.Once
	quit chan struct{}
	done chan struct{}
}

func (s *stopper) signal() { s.once.Do(func() { close(s.quit) }) }

// start starts the adjusting goroutine, once, unless Shutdown came first.
// It holds the Adaptive weakly, and a cleanup stops it when the Adaptive
// is collected, so an Adaptive dropped without Shutdown leaks nothing.
func (a *Adaptive) start() {
	a.loop.once.Do(func() {
		if a.loop.stopped.Load() {
			return
		}
		s := &stopper{quit: make(chan struct{}), done: make(chan struct{})}
		a.loop.stop = s
		ticks, stopTicks := a.cfg.ticks(a.cfg.interval)
		a.loop.running.Store(true)
		go tickLoop(weak.Make(a), s, ticks, stopTicks, a.cfg.tickDone)
		runtime.AddCleanup(a, func(s *stopper) { s.signal() }, s)
		// Publish the same decision without the boot mark.
		if d := a.state.Load(); d.boot {
			n := *d
			n.boot = false
			a.state.CompareAndSwap(d, &n)
		}
	})
}

// tickLoop adjusts on every tick until told to stop or the Adaptive is
// gone. done, if not nil, hears after each tick (tests).
func tickLoop(wp weak.Pointer[Adaptive], s *stopper, ticks <-chan time.Time, stopTicks func(), done chan<- struct{}) {
	defer close(s.done)
	defer stopTicks()
	for {
		select {
		case <-s.quit:
			return
		case <-ticks:
			a := wp.Value()
			if a == nil {
				return
			}
			a.tick()
			a = nil // hold the sampler only while adjusting
			if done != nil {
				select {
				case done <- struct{}{}:
				case <-s.quit:
					return
				}
			}
		}
	}
}

// realTicker is the default tick source.
func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// tick is the goroutine's adjustment: it adjusts unless an early
// adjustment came less than half an interval ago, in which case the
// interval runs on to the next tick.
func (a *Adaptive) tick() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.now()
	if a.elapsed(now) >= a.cfg.interval/2 {
		a.adjustLocked(now)
	}
}

// shutdown stops the goroutine and waits for it, or for ctx.
func (a *Adaptive) shutdown(ctx context.Context) error {
	a.loop.stopped.Store(true)
	a.loop.once.Do(func() {}) // a start racing with this one sees stopped, or has finished
	a.loop.running.Store(false)
	s := a.loop.stop
	if s == nil {
		return nil
	}
	s.signal()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// elapsed returns the time from the last adjustment to now.
func (a *Adaptive) elapsed(now time.Time) time.Duration {
	return now.Sub(a.epoch) - time.Duration(a.lastTick.Load())
}

// maybeAdjust adjusts when an adjustment is due.
func (a *Adaptive) maybeAdjust() {
	if a.cfg.now == nil {
		return // the zero Adaptive never adjusts
	}
	now := a.cfg.now()
	if !a.due(now) || !a.mu.TryLock() {
		return
	}
	defer a.mu.Unlock()
	// Check again under the lock: another goroutine may have adjusted
	// between the check and the lock.
	if a.due(now) {
		a.adjustLocked(now)
	}
}

// due reports whether an adjustment is due at now: the interval has
// passed and no goroutine adjusts, or the entries sampled (at least
// minOverloadSpans) pass the overload rate of the decision in force (0
// before the first adjustment, +Inf at the floor), or
// the hard cap is refusing roots at half its rate.
func (a *Adaptive) due(now time.Time) bool {
	elapsed := a.elapsed(now)
	if elapsed >= a.cfg.interval && !a.loop.running.Load() {
		return true
	}
	secs := max(elapsed.Seconds(), 1e-9)
	if n := float64(a.entries.Load()); n >= a.minOverload && n >= a.decision().early*secs {
		return true
	}
	if a.limiter != nil {
		if n := float64(a.cappedNow.Load()); n >= minOverloadSpans && n >= 0.5*a.cfg.maxTraces*secs {
			return true
		}
	}
	return false
}

// estimates are the smoothed rates the probability is computed from, per
// second.
type estimates struct {
	roots    float64 // roots decided here arriving, sampled or not
	follow   float64 // remote-parented spans arriving, sampled upstream or not
	followed float64 // sampled spans following a sampled remote parent
	perTrace float64 // sampled spans per sampled entry (root or followed)
}

// smooth folds a new per-second estimate x into prev: a change by half or
// more is taken at once (a step in load), a smaller one is averaged in.
func smooth(prev, x float64) float64 {
	if prev == 0 || x > 1.5*prev || x < prev/1.5 {
		return x
	}
	return 0.5*prev + 0.5*x
}

// poissonUpper is an upper confidence bound (about 97.5%) for the mean of
// a Poisson count n.
func poissonUpper(n float64) float64 {
	return n + 2 + 2*math.Sqrt(n+1)
}

// adjustLocked computes the next probability from the interval that just
// ended. a.mu is held.
func (a *Adaptive) adjustLocked(now time.Time) {
	tick := now.Sub(a.epoch)
	elapsed := tick - time.Duration(a.lastTick.Load())
	if elapsed <= 0 {
		return
	}
	a.lastTick.Store(int64(tick))
	secs := elapsed.Seconds()
	cur := a.decision()
	band := float64(a.band.Swap(0)) / weightOne
	bandN := float64(a.bandN.Swap(0))
	followBand := float64(a.followBand.Swap(0)) / weightOne
	sampled := float64(a.sampled.Swap(0))
	entries := float64(a.entries.Swap(0))
	followed := float64(a.followed.Swap(0))
	rootsW := float64(a.rootsW.Swap(0)) / weightOne
	errorsW := float64(a.errorsW.Swap(0)) / weightOne
	errorsN := float64(a.errorsN.Swap(0))
	rootsN := float64(a.rootsN.Swap(0))
	a.cappedNow.Store(0)
	a.mu.ticks++
	// Checked before this interval's spans count: a span sampled in an
	// earlier interval has long had its OnStart, while one sampled just now
	// (its adjustment running inside ShouldSample) has not had it yet.
	a.seen.check(a.mu.ticks)
	if sampled > 0 {
		a.seen.sampledAny.Store(true)
	}

	est := &a.mu.est
	est.roots = smooth(est.roots, band/secs)
	est.follow = smooth(est.follow, followBand/secs)
	est.followed = smooth(est.followed, followed/secs)
	if entries >= 1 {
		est.perTrace = max(1, smooth(est.perTrace, sampled/entries))
	}

	boost := a.mu.boost.update(a.cfg, secs, rootsW, errorsW, rootsN, errorsN)
	budget := a.cfg.budget / est.perTrace // entries per second
	base := a.baseProbability(budget, est.roots)
	if a.fair != nil && elapsed >= a.cfg.interval/2 {
		base = a.fair.shares(a, base, est.roots, tick, boost)
	}
	p := base * boost
	// With a hard cap, hold p a little below what the cap admits, so the
	// token bucket only clips bursts and adjusted counts stay true.
	if a.limiter != nil && est.roots > 0 {
		p = min(p, capMargin*a.cfg.maxTraces/est.roots)
	}
	// A rise is bounded by what the evidence allows: the upper confidence
	// bound of this interval's arrivals, or maxRise, whichever is more.
	if p > cur.p {
		upper := (band + (poissonUpper(bandN)-bandN)*float64(cur.estW)/weightOne) / secs
		p = min(p, max(maxRise*cur.p, a.baseProbability(budget, upper)*boost))
	}
	next := a.makeDecision(p, boost, overloadFactor*(boost*budget+est.followed))
	if next.p <= a.cfg.floor {
		next.early = math.Inf(1) // overload cannot be answered below the floor
	}
	a.state.Store(next)
	a.mu.stats = Stats{
		Probability:       next.p,
		BaseProbability:   min(max(base, a.cfg.floor), a.cfg.ceiling),
		SpansPerSecond:    (est.roots + est.follow) * est.perTrace,
		SampledPerSecond:  sampled / secs,
		FollowedPerSecond: est.followed,
		ErrorRatio:        a.mu.boost.ratio(),
		Boosted:           boost > 1,
		Capped:            a.capped.Load(),
		Interval:          elapsed,
	}.finite()
}

// baseProbability is the probability of a local root that fills the
// budget (in entries per second) with roots arriving at roots per second,
// after what spans following remote parents take; but local roots always
// keep half the budget or, if smaller, their share of it in proportion to
// their part of the arrivals. a.mu is held.
func (a *Adaptive) baseProbability(budget, roots float64) float64 {
	if roots <= 0 {
		return a.cfg.ceiling
	}
	est := &a.mu.est
	p := (budget - est.followed) / roots
	share := budget * min(0.5, roots/(roots+est.follow)) / roots
	return max(p, share)
}
