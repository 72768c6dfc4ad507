//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package orderbook_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// TestOpenEngineLocksTheLog is the outside review's finding O2: two
// engines could OpenEngine the same file at once, each appending from its
// own offset over the other's frames, so that acknowledged commands
// vanished and the log still reopened without error. Now OpenEngine takes
// an exclusive lock on the file: a second opener, in this process or
// another, gets ErrLogLocked and the file is left as it was; Shutdown, and
// a failed open, release the lock.
func TestOpenEngineLocksTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "book.log")
	a, err := orderbook.OpenEngine(path)
	if err != nil {
		t.Fatal(err)
	}
	for id := orderbook.OrderID(1); id <= 10; id++ {
		if _, _, err := a.Do(ctx, submit(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := orderbook.OpenEngine(path)
	if err == nil {
		shutdown(t, b)
	}
	if !errors.Is(err, orderbook.ErrLogLocked) {
		t.Fatalf("a second OpenEngine of a log in use = %v, want ErrLogLocked", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatalf("the refused OpenEngine changed the log")
	}
	for id := orderbook.OrderID(11); id <= 20; id++ {
		if _, _, err := a.Do(ctx, submit(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	shutdown(t, a)

	// A failed open (a policy the log contradicts) releases the lock too.
	if _, err := orderbook.OpenEngine(path, orderbook.WithSTP(orderbook.CancelBoth)); !errors.Is(err, orderbook.ErrInvalidConfig) {
		t.Fatalf("OpenEngine with another policy = %v", err)
	}
	c, err := orderbook.OpenEngine(path)
	if err != nil {
		t.Fatalf("OpenEngine after Shutdown: %v", err)
	}
	defer shutdown(t, c)
	if _, seq, err := c.Snapshot(ctx); err != nil || seq != 20 {
		t.Fatalf("reopened at seq %d (%v), want all 20 commands", seq, err)
	}
}

// TestOpenEngineRefusesNonRegularFiles is the outside review's finding
// O4: OpenEngine on a FIFO or a device wrote a log header into it and
// only then failed. Now anything but a regular file is refused with
// ErrNotLog before a byte is written.
func TestOpenEngineRefusesNonRegularFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Whatever OpenEngine writes into the FIFO stays in it for this reader.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, path := range []string{fifo, os.DevNull} {
		e, err := orderbook.OpenEngine(path)
		if err == nil {
			shutdown(t, e)
		}
		if !errors.Is(err, orderbook.ErrNotLog) {
			t.Errorf("OpenEngine(%s) = %v, want ErrNotLog", path, err)
		}
	}
	if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, _ := r.Read(buf); n > 0 {
		t.Errorf("OpenEngine wrote %q into the FIFO", buf[:n])
	}
}
