package otelx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otlpgo/otlpgo/panics"
)

// batchProcessor is a span processor that queues sampled spans and exports
// them in batches, like the SDK's BatchSpanProcessor, and in addition counts
// the spans it drops because the queue is full. The SDK keeps that count
// private, and health needs it: a full queue is how telemetry is silently
// lost under load or while the collector is down.
//
// It is safe for concurrent use and must not be copied. One goroutine,
// started by newBatchProcessor and ended by Shutdown, owns the batch; it
// calls the exporter and the error handler each on a short-lived goroutine
// of their own under panics.Guard (see guarded), so a panic is a
// *panics.Error and a runtime.Goexit an error wrapping panics.ErrGoexit,
// counted as a failed export, and the loop goes on. Shutdown honours its
// context: if the exporter ignores the cancellation of its context, the
// loop outlives Shutdown until the exporter returns, then shuts the
// exporter down and ends.
type batchProcessor struct {
	exporter     sdktrace.SpanExporter // immutable after newBatchProcessor
	batchTimeout time.Duration
	timeout      time.Duration
	maxBatch     int
	onError      func(error)

	queue    chan sdktrace.ReadOnlySpan
	flushReq chan flushRequest
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	stopped  atomic.Bool
	// state is runRunning until run ends (runEnded) or Shutdown gives up
	// waiting for it (runAbandoned), whichever comes first; run shuts the
	// exporter down itself when it was abandoned.
	state atomic.Int32

	// exportCtx is the parent of every export; cancelling it aborts an
	// export in flight when Shutdown's context ends first.
	exportCtx    context.Context
	cancelExport context.CancelFunc

	dropped atomic.Int64
	// droppedAt holds the dropped count at the last two successful
	// exports, [0] the earlier. Spans dropped since droppedAt[0] are recent:
	// health stays degraded until two exports in a row succeed with no drop
	// between them. Written by run only.
	droppedAt [2]atomic.Int64
}

var _ sdktrace.SpanProcessor = (*batchProcessor)(nil)

// Values of batchProcessor.state.
const (
	runRunning int32 = iota
	runEnded
	runAbandoned
)

// abandonGrace is how long Shutdown still waits, once its context has
// ended and the export in flight is cancelled, for the exporter to return:
// an exporter that honours its context (the OTLP exporters do) returns
// within microseconds, and its spans are then counted as failed before
// Shutdown returns. An exporter that ignores its context is abandoned.
const abandonGrace = 100 * time.Millisecond

func newBatchProcessor(exp sdktrace.SpanExporter, r *resolved, onError func(error)) *batchProcessor {
	ctx, cancel := context.WithCancel(context.Background())
	p := &batchProcessor{
		exporter:     exp,
		batchTimeout: r.batchTimeout,
		timeout:      r.exportTimeout,
		maxBatch:     r.maxBatchSize,
		onError:      onError,
		queue:        make(chan sdktrace.ReadOnlySpan, r.maxQueueSize),
		flushReq:     make(chan flushRequest),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		exportCtx:    ctx,
		cancelExport: cancel,
	}
	go p.run()
	return p
}

// OnStart does nothing: spans are queued when they end.
func (*batchProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span, or counts it as dropped if the queue is full
// or the processor has shut down.
func (p *batchProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if p.stopped.Load() {
		p.dropped.Add(1)
		return
	}
	select {
	case p.queue <- s:
	default:
		p.dropped.Add(1)
	}
}

// ForceFlush exports every span queued before the call and returns the
// export's error, or ctx's if it ends first.
func (p *batchProcessor) ForceFlush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case p.flushReq <- flushRequest{ctx: ctx, reply: reply}:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops accepting spans, exports what is queued and shuts the
// exporter down. If ctx ends first, the export in flight is cancelled, the
// spans still queued count as failed or dropped, and ctx's error is
// returned, at most abandonGrace after ctx ended. If the exporter ignores
// the cancellation, Shutdown does not wait for it: the export goroutine
// outlives Shutdown until the exporter returns, then shuts the exporter
// down (reporting its error to the error handler) and ends. Calls after
// the first do nothing.
func (p *batchProcessor) Shutdown(ctx context.Context) error {
	err := errShutdownDone
	p.stopOnce.Do(func() {
		p.stopped.Store(true)
		close(p.stop)
		select {
		case <-p.done:
			err = nil
		case <-ctx.Done():
			err = ctx.Err()
			p.cancelExport()
			grace := time.NewTimer(abandonGrace)
			defer grace.Stop()
			select {
			case <-p.done:
			case <-grace.C:
				if p.state.CompareAndSwap(runRunning, runAbandoned) {
					// run is stuck in the exporter; it shuts the exporter
					// down when it returns.
					p.dropQueued()
					return
				}
				<-p.done // run has just ended
			}
		}
		p.cancelExport()
		p.dropQueued()
		err = errors.Join(err, guardedCtx(ctx, func() error { return p.exporter.Shutdown(ctx) }))
	})
	if err == errShutdownDone {
		return nil
	}
	return err
}

// dropQueued counts the spans still queued as dropped: spans that ended
// while run drained the queue, or that run will not reach. None is lost
// silently.
func (p *batchProcessor) dropQueued() {
	for {
		select {
		case <-p.queue:
			p.dropped.Add(1)
		default:
			return
		}
	}
}

var errShutdownDone = errors.New("shutdown already done")

// flushRequest asks run to export everything queued, within ctx. It is a
// message that lives for one call, like an http.Request, so it carries the
// caller's context.
type flushRequest struct {
	ctx   context.Context
	reply chan error
}

// run owns the batch: it collects spans and exports when the batch is full,
// when the batch timeout passes, on ForceFlush and on Shutdown.
func (p *batchProcessor) run() {
	defer close(p.done)
	defer func() {
		if !p.state.CompareAndSwap(runRunning, runEnded) {
			// Shutdown gave up on an exporter that ignored its context:
			// shut it down now that it has returned.
			ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
			defer cancel()
			if err := guarded(func() error { return p.exporter.Shutdown(ctx) }); err != nil {
				handle(p.onError, err)
			}
		}
	}()
	batch := make([]sdktrace.ReadOnlySpan, 0, p.maxBatch)
	timer := time.NewTimer(p.batchTimeout)
	defer timer.Stop()

	// export sends the batch; caller, if not nil, is a ForceFlush caller
	// whose context also bounds the export.
	export := func(caller context.Context) error {
		timer.Reset(p.batchTimeout)
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(p.exportCtx, p.timeout)
		if caller != nil {
			stop := context.AfterFunc(caller, cancel)
			defer stop()
		}
		// p.exporter is a spanExporter: it runs the user's exporter under
		// guarded, so neither a panic nor a Goexit ends this goroutine.
		err := p.exporter.ExportSpans(ctx, batch)
		cancel()
		clear(batch) // let the spans be collected
		batch = batch[:0]
		if err != nil {
			handle(p.onError, err)
			return err
		}
		p.droppedAt[0].Store(p.droppedAt[1].Load())
		p.droppedAt[1].Store(p.dropped.Load())
		return nil
	}
	// drain moves what is queued now into batches and exports them all.
	drain := func(caller context.Context) error {
		var errs error
		// Non-blocking: an abandoned Shutdown may be emptying the queue too.
		for n := len(p.queue); n > 0; n-- {
			select {
			case s := <-p.queue:
				batch = append(batch, s)
			default:
				n = 0
				continue
			}
			if len(batch) == p.maxBatch {
				errs = errors.Join(errs, export(caller))
			}
		}
		return errors.Join(errs, export(caller))
	}

	for {
		select {
		case s := <-p.queue:
			batch = append(batch, s)
			if len(batch) == p.maxBatch {
				_ = export(nil)
			}
		case <-timer.C:
			_ = export(nil)
		case req := <-p.flushReq:
			req.reply <- drain(req.ctx)
		case <-p.stop:
			// OnEnd calls racing with Shutdown may still add a few spans;
			// drain takes what is there now, and Shutdown counts the rest.
			_ = drain(nil)
			return
		}
	}
}

// handle gives err to the user's error handler h. If h panics or calls
// runtime.Goexit, that goes to otel.Handle as an error (a *panics.Error or
// one wrapping panics.ErrGoexit): it must not end the goroutine that
// exports.
func handle(h func(error), err error) {
	if h == nil {
		return
	}
	if herr := guarded(func() error { h(err); return nil }); herr != nil {
		otel.Handle(fmt.Errorf("otelx: error handler: %w", herr))
	}
}

// guarded calls fn, user code, on a goroutine of its own under
// panics.Guard and returns its error, a panic as a *panics.Error, or an
// error wrapping panics.ErrGoexit if fn called runtime.Goexit. The caller's
// goroutine (the export loop, or the SDK's metric reader) survives either:
// a Goexit ends only the goroutine guarded starts. That goroutine costs
// about a microsecond, once per export.
func guarded(fn func() error) error {
	errc := make(chan error, 1)
	go panics.Guard(fn, func(err error) { errc <- err })
	return <-errc
}

// guardedCtx is guarded, but returns ctx's error once ctx ends, without
// waiting for fn: for a user's exporter called where the caller's context
// must be honoured (ForceFlush, Shutdown) even if the exporter ignores it.
// fn's goroutine then runs until fn returns, and its outcome is dropped.
func guardedCtx(ctx context.Context, fn func() error) error {
	errc := make(chan error, 1)
	go panics.Guard(fn, func(err error) { errc <- err })
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		select {
		case err := <-errc: // fn returned too: keep its outcome
			return err
		default:
			return ctx.Err()
		}
	}
}

// queueLen is the number of spans waiting in the queue.
func (p *batchProcessor) queueLen() int { return len(p.queue) }

// recentDrops is the number of spans dropped since the export before the
// last successful one.
func (p *batchProcessor) recentDrops() int64 {
	return p.dropped.Load() - p.droppedAt[0].Load()
}
