//go:build unix

package ringbuffer_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBlockedPopIsIdle blocks a Pop on an empty queue for a second and
// checks the process spent less than 5% of one core meanwhile: waiting
// consumers park instead of spinning. The measure is CPU time, so a slow
// or loaded machine does not change the verdict.
func TestBlockedPopIsIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	for _, k := range kinds {
		q := k.make(16)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		before, start := cpuTime(t), time.Now()
		_, err := q.Pop(ctx)
		used, wall := cpuTime(t)-before, time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Pop on an empty queue returned %v", k.name, err)
		}
		share := float64(used) / float64(wall)
		t.Logf("%s: a Pop blocked for %v used %v of CPU (%.2f%% of a core)", k.name, wall.Round(time.Millisecond), used, 100*share)
		if share > 0.05 {
			t.Errorf("%s: blocked Pop used %.1f%% of a core, want under 5%%", k.name, 100*share)
		}
	}
}
