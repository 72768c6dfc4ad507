package errs

import (
	"context"
	"time"
)

// WithFakeTime replaces Retry's clock, wait and jitter for tests: now
// reads the fake clock, sleep advances it (recording each wait), and the
// jitter always draws its ceiling.
func WithFakeTime(clock *time.Time, waits *[]time.Duration) RetryOption {
	return retryOptionFunc(func(c *retryConfig) {
		c.now = func() time.Time { return *clock }
		c.sleep = func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			*waits = append(*waits, d)
			*clock = clock.Add(d)
			return nil
		}
		c.rand = func(n int64) int64 { return n - 1 }
	})
}
