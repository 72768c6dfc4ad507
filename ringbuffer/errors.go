package ringbuffer

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Push once the queue is closed, and by Pop once
// it is closed and empty.
var ErrClosed = errors.New("ringbuffer: closed")

// maxCapacity bounds the capacity, and so the slot array's size.
const maxCapacity = 1 << 30

// roundCapacity returns capacity rounded up to a power of two, at least 2.
// It panics on a capacity below 1 or above 2^30: a programmer's error, as
// with make and a negative length.
func roundCapacity(capacity int, kind string) uint64 {
	if capacity < 1 || capacity > maxCapacity {
		panic(fmt.Sprintf("ringbuffer: %s capacity %d out of range [1, %d]", kind, capacity, maxCapacity))
	}
	c := uint64(2)
	for c < uint64(capacity) {
		c <<= 1
	}
	return c
}

// pad separates fields written by different cores onto different cache
// lines, so that producers and consumers do not invalidate each other's.
type pad [64]byte
