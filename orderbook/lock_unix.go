//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package orderbook

import (
	"errors"
	"os"
	"syscall"
)

// lockLog takes an exclusive flock on the log file without waiting, and
// returns ErrLogLocked if another open file holds it. flock belongs to
// the open file description, so a second OpenEngine in the same process
// conflicts too; closing the file releases it. (On NFS, Linux emulates
// flock with POSIX locks, which do not conflict within one process.)
func lockLog(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLogLocked
	}
	return err
}
