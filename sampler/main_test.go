package sampler_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is left running after
// them. Adaptive starts none, but tests build TracerProviders whose span
// processors do, and they must be shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
