package otelx

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// leakSlots is the size of the table of open spans that leakTracker keeps
// for naming the oldest. The open count is exact however many spans are
// open; the table only bounds how many can be named.
const leakSlots = 4096

// maxOldest is how many of the oldest open spans Health lists.
const maxOldest = 5

// leakTracker is a span processor that counts recording spans started and
// not ended, and remembers a bounded sample of them so the oldest can be
// named. It is safe for concurrent use and must not be copied.
//
// Each span hashes by its span ID to one slot of a fixed table. A span
// claims its slot with a compare-and-swap of the slot's key from zero to its
// span ID and clears it when it ends; a span whose slot is taken is counted
// but not named. A leaked span keeps its slot, so the table fills with the
// spans that matter. The cost is two atomic adds, a CAS and two uncontended
// mutex sections per span, and no allocation.
type leakTracker struct {
	started atomic.Int64
	ended   atomic.Int64
	slots   [leakSlots]leakSlot
}

type leakSlot struct {
	key atomic.Uint64 // span ID of the owner; 0 when free
	mu  sync.Mutex    // guards span
	// span is the owner, set after key is claimed and cleared before key
	// is freed; nil while a claim is being written.
	span sdktrace.ReadOnlySpan
}

var _ sdktrace.SpanProcessor = (*leakTracker)(nil)

func spanKey(s sdktrace.ReadOnlySpan) uint64 {
	id := s.SpanContext().SpanID()
	return binary.LittleEndian.Uint64(id[:])
}

// OnStart counts the span and, if its slot is free, remembers it.
func (l *leakTracker) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	l.started.Add(1)
	key := spanKey(s)
	if key == 0 {
		return
	}
	slot := &l.slots[key%leakSlots]
	if slot.key.CompareAndSwap(0, key) {
		slot.mu.Lock()
		slot.span = s
		slot.mu.Unlock()
	}
}

// OnEnd counts the span and frees its slot if it held one.
func (l *leakTracker) OnEnd(s sdktrace.ReadOnlySpan) {
	l.ended.Add(1)
	key := spanKey(s)
	if key == 0 {
		return
	}
	slot := &l.slots[key%leakSlots]
	if slot.key.Load() == key {
		slot.mu.Lock()
		slot.span = nil
		slot.mu.Unlock()
		slot.key.Store(0)
	}
}

// Shutdown forgets the spans still open: the SDK stops calling OnEnd after
// it shuts down, so they would look open forever and pin their memory. The
// counts stay, so Health still tells how many were open at shutdown.
func (l *leakTracker) Shutdown(context.Context) error {
	for i := range l.slots {
		slot := &l.slots[i]
		slot.mu.Lock()
		slot.span = nil
		slot.mu.Unlock()
		slot.key.Store(0)
	}
	return nil
}

// ForceFlush does nothing: the tracker exports nothing.
func (*leakTracker) ForceFlush(context.Context) error { return nil }

// report fills the open count and the oldest open spans, and counts those
// older than threshold. It keeps the oldest maxOldest in a fixed array while
// scanning, so it allocates only for the few it names.
func (l *leakTracker) report(h *SpanHealth, clock func() time.Time, threshold time.Duration) {
	// Load ended first: a span that ends between the loads then makes the
	// count too high by one for a moment, never negative.
	ended := l.ended.Load()
	h.Open = max(l.started.Load()-ended, 0)

	type candidate struct {
		start time.Time
		span  sdktrace.ReadOnlySpan
	}
	var oldest [maxOldest]candidate // sorted, oldest first
	n := 0
	for i := range l.slots {
		slot := &l.slots[i]
		if slot.key.Load() == 0 {
			continue
		}
		slot.mu.Lock()
		s := slot.span
		slot.mu.Unlock()
		if s == nil {
			continue
		}
		c := candidate{s.StartTime(), s}
		if n == maxOldest && !c.start.Before(oldest[n-1].start) {
			continue
		}
		// Insert c in order, dropping the newest if full.
		j := min(n, maxOldest-1)
		for j > 0 && c.start.Before(oldest[j-1].start) {
			oldest[j] = oldest[j-1]
			j--
		}
		oldest[j] = c
		n = min(n+1, maxOldest)
	}

	now := clock() // after the scan, so no age is negative
	h.Leaked = 0
	h.OldestOpen = nil
	if n > 0 {
		h.OldestOpen = make([]OpenSpan, n)
	}
	for i, c := range oldest[:n] {
		sc := c.span.SpanContext()
		age := now.Sub(c.start)
		h.OldestOpen[i] = OpenSpan{
			Name:    c.span.Name(),
			TraceID: sc.TraceID().String(),
			SpanID:  sc.SpanID().String(),
			Start:   c.start,
			Age:     age,
		}
		if age > threshold {
			h.Leaked++
		}
	}
}

// countingSampler wraps the configured sampler to count spans started and
// sampled: two atomic adds per span on top of the wrapped sampler.
type countingSampler struct {
	sdktrace.Sampler
	started, sampled atomic.Int64
}

func (c *countingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	r := c.Sampler.ShouldSample(p)
	c.started.Add(1)
	if r.Decision == sdktrace.RecordAndSample {
		c.sampled.Add(1)
	}
	return r
}
