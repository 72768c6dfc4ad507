package sampler

import "time"

// WithTicks drives the adjusting goroutine from ticks instead of a timer,
// and reads the time from now; after each tick is handled, the goroutine
// sends on done. A simulation sends a tick when its fake clock passes an
// interval and waits on done, which is what a timer does in production.
func WithTicks(now func() time.Time, ticks <-chan time.Time, done chan<- struct{}) Option {
	return optionFunc(func(c *config) {
		c.now = now
		c.ticks = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
		c.tickDone = done
	})
}

// Start starts the adjusting goroutine now, as the first decision would:
// a test may then tick before any span.
func Start(a *Adaptive) { a.start() }
