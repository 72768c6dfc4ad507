//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package txlog

import (
	"os"
	"time"
)

// lockFile does nothing here: bbolt takes its own lock when it opens the
// file, after the file was checked.
func lockFile(*os.File, time.Duration) error { return nil }
