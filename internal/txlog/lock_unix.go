//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package txlog

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes the exclusive flock that bbolt takes, waiting up to
// timeout: the file is then read, checked and handed to bbolt (whose own
// flock on the same descriptor succeeds) without another process writing
// it meanwhile.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("the file is locked by another process")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
