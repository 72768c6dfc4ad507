package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sampledCounter is a span processor that counts the sampled spans ending
// in each wall-clock second from the start of the run, and the sampled
// spans of each trace: whether the sampler holds its budget second by
// second, and how large a trace gets. It sees every span the SDK records,
// whatever the exporter, so it works with a collector and without. It is
// safe for concurrent use.
type sampledCounter struct {
	start time.Time // immutable after newSampledCounter

	mu struct {
		sync.Mutex
		perSecond []int64                      // sampled spans that ended in second i after start
		traces    map[trace.TraceID]*traceSize // sampled spans by trace
		last      time.Time                    // the latest end seen
	}
}

// traceSize is one trace's sampled spans, and the name of its root.
type traceSize struct {
	spans int
	root  string
}

var _ sdktrace.SpanProcessor = (*sampledCounter)(nil)

func newSampledCounter(start time.Time) *sampledCounter {
	c := &sampledCounter{start: start}
	c.mu.traces = map[trace.TraceID]*traceSize{}
	return c
}

// OnStart implements sdktrace.SpanProcessor.
func (*sampledCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd counts s if it is sampled.
func (c *sampledCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	if !sc.IsSampled() {
		return
	}
	end := s.EndTime()
	i := max(int(end.Sub(c.start)/time.Second), 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.mu.perSecond) <= i {
		c.mu.perSecond = append(c.mu.perSecond, 0)
	}
	c.mu.perSecond[i]++
	if end.After(c.mu.last) {
		c.mu.last = end
	}
	t := c.mu.traces[sc.TraceID()]
	if t == nil {
		t = &traceSize{}
		c.mu.traces[sc.TraceID()] = t
	}
	t.spans++
	if !s.Parent().IsValid() {
		t.root = s.Name()
	}
}

// Shutdown implements sdktrace.SpanProcessor.
func (*sampledCounter) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor.
func (*sampledCounter) ForceFlush(context.Context) error { return nil }

// report prints the summary's rows: sampled spans per second from the
// start to end (seconds with none included), and the largest trace.
func (c *sampledCounter) report(out io.Writer, budget float64, end time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.last.After(end) {
		end = c.mu.last
	}
	for len(c.mu.perSecond) <= int(end.Sub(c.start)/time.Second) {
		c.mu.perSecond = append(c.mu.perSecond, 0)
	}
	figures := make([]string, len(c.mu.perSecond))
	for i, n := range c.mu.perSecond {
		figures[i] = fmt.Sprint(n)
	}
	partial := end.Sub(c.start).Seconds() - float64(len(c.mu.perSecond)-1)
	fmt.Fprintf(out, "  %-16s %s  (in each wall-clock second from the start, budget %g; the last second is %.1f s long)\n",
		"sampled spans/s", strings.Join(figures, " "), budget, max(partial, 0))
	var largest traceSize
	for _, t := range c.mu.traces {
		if t.spans > largest.spans {
			largest = *t
		}
	}
	if largest.root == "" {
		largest.root = "(not sampled)"
	}
	fmt.Fprintf(out, "  %-16s %10d  spans, rooted at %s; %d sampled traces\n", "largest trace", largest.spans, largest.root, len(c.mu.traces))
}

// syncWriter serialises writes: the progress line, the error handler and
// the main goroutine all print.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer // guarded by mu
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
