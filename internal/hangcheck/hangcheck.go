// Package hangcheck turns a hang into a test failure: tests of calls that
// must return (after a panic, a runtime.Goexit or a refusing participant)
// run them under Within instead of waiting for the test binary's timeout.
package hangcheck

import (
	"testing"
	"time"
)

// Within runs f on its own goroutine and returns its result, failing t
// if f has not returned after d. A call that hangs keeps running; the
// package's goleak check then reports it too.
func Within[T any](t testing.TB, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("%s has not returned after %v", what, d)
		panic("unreachable")
	}
}
