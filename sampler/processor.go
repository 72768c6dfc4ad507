package sampler

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Errors reported once each through otel.Handle when the sampler sees it
// is installed in a way that loses part of what it does.
var (
	// ErrNotProcessor is reported when spans are sampled but the sampler
	// never sees one start: it is not registered with
	// sdktrace.WithSpanProcessor, so the error boost is off.
	ErrNotProcessor = errors.New("sampler: Adaptive samples spans but is not registered as a span processor (sdktrace.WithSpanProcessor): the error boost is off")
	// ErrWrapped is reported when a span with a parent starts that the
	// sampler was not asked about: it is wrapped in another sampler (such
	// as sdktrace.ParentBased), so child spans are not counted against the
	// budget and the sampled spans per second can pass it.
	ErrWrapped = errors.New("sampler: Adaptive is wrapped in another sampler (such as sdktrace.ParentBased) and does not see child spans: they are not counted against the budget; install it unwrapped")
	// ErrAssumedRandomness is reported when a span is decided by the
	// randomness of a remote trace ID whose W3C random flag is not set and
	// whose tracestate carries no rv: the decision assumes the ID is
	// random, as the specification allows, and is only as consistent as
	// the upstream's IDs are random.
	ErrAssumedRandomness = errors.New("sampler: deciding by a remote trace ID without the W3C random flag or an rv: its randomness is assumed")
)

// seen records what the sampler has seen of how it is installed, and
// reports each problem once.
type seen struct {
	sampledAny  atomic.Bool // ShouldSample sampled a span (set by adjust)
	started     atomic.Bool // OnStart was called
	parent      atomic.Bool // ShouldSample was asked about a span with a parent
	notProc     atomic.Bool // ErrNotProcessor reported
	wrapped     atomic.Bool // ErrWrapped reported
	assumedRand atomic.Bool // ErrAssumedRandomness reported
}

// parented notes that ShouldSample saw a span with a parent.
func (s *seen) parented() {
	if !s.parent.Load() {
		s.parent.Store(true)
	}
}

// assumedRandomness reports ErrAssumedRandomness, once.
func (s *seen) assumedRandomness() {
	if !s.assumedRand.Load() && s.assumedRand.CompareAndSwap(false, true) {
		otel.Handle(ErrAssumedRandomness)
	}
}

// check runs at each adjustment, before the interval's spans are noted:
// from the second adjustment on, when spans were sampled in an earlier
// interval and none was seen starting, the sampler is not a span
// processor.
func (s *seen) check(ticks int64) {
	if ticks >= 2 && s.sampledAny.Load() && !s.started.Load() && s.notProc.CompareAndSwap(false, true) {
		otel.Handle(ErrNotProcessor)
	}
}

// OnStart implements sdktrace.SpanProcessor. It notes that the sampler is
// registered, and that it is not wrapped: a span with a parent that
// ShouldSample was never asked about shows a wrapping sampler.
func (a *Adaptive) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if !a.seen.started.Load() {
		a.seen.started.Store(true)
	}
	if !a.seen.parent.Load() && s.Parent().IsValid() && a.seen.wrapped.CompareAndSwap(false, true) {
		otel.Handle(ErrWrapped)
	}
}

// OnEnd implements sdktrace.SpanProcessor: it feeds the error ratio with
// the spans decided here that start a local trace (roots, and with
// DecideRemoteParent or WithParentBased(false) spans with a remote
// parent), each weighted by the adjusted count its tracestate threshold
// gives.
func (a *Adaptive) OnEnd(s sdktrace.ReadOnlySpan) {
	if parent := s.Parent(); parent.IsValid() && (!parent.IsRemote() || (a.cfg.parentBased && a.cfg.remote == FollowRemoteParent)) {
		return
	}
	sc := s.SpanContext()
	if !sc.IsSampled() || a.cfg.now == nil {
		return
	}
	w := uint64(weightOne)
	if raw := sc.TraceState().Get(otKey); raw != "" {
		if ot := parseOT(raw); ot.hasTh {
			w = a.weightOf(ot.th)
		}
	}
	addSat(&a.rootsW, w)
	a.rootsN.Add(1)
	if s.Status().Code == codes.Error {
		addSat(&a.errorsW, w)
		a.errorsN.Add(1)
	}
}

// Shutdown implements sdktrace.SpanProcessor. It stops the adjusting
// goroutine and waits for it to return, or for ctx. The sampler keeps
// deciding after it, adjusting only on the spans it samples. It is safe
// to call more than once.
func (a *Adaptive) Shutdown(ctx context.Context) error {
	return a.shutdown(ctx)
}

// ForceFlush implements sdktrace.SpanProcessor. It does nothing.
func (*Adaptive) ForceFlush(context.Context) error { return nil }
