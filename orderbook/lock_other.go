//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package orderbook

import "os"

// lockLog does nothing here: there is no flock, and this module takes no
// dependency for the platform's own locks, so OpenEngine cannot stop a
// second engine from opening the same log (see OpenEngine).
func lockLog(*os.File) error { return nil }
