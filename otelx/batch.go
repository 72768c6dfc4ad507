package otelx

import (
	"context"
	"errors"
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
// started by newBatchProcessor and ended by Shutdown, owns the batch and
// calls the exporter. A panic in the exporter is returned as a
// *panics.Error, as its error would be; a panic in the error handler goes
// to otel.Handle. The exporter must return once its context is
// cancelled, or Shutdown cannot honour its context.
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
// spans still queued count as failed, and ctx's error is returned. Calls
// after the first do nothing.
func (p *batchProcessor) Shutdown(ctx context.Context) error {
	err := errShutdownDone
	p.stopOnce.Do(func() {
		p.stopped.Store(true)
		close(p.stop)
		select {
		case <-p.done:
			err = nil
		case <-ctx.Done():
			// The exporter must return once its context is cancelled, as
			// the OTLP exporters do; then run ends at once.
			p.cancelExport()
			<-p.done
			err = ctx.Err()
		}
		p.cancelExport()
		// Spans that ended while run drained the queue are not exported:
		// count them, so that none is lost silently.
		for n := len(p.queue); n > 0; n-- {
			<-p.queue
			p.dropped.Add(1)
		}
		err = errors.Join(err, panics.Try(func() error { return p.exporter.Shutdown(ctx) }))
	})
	if err == errShutdownDone {
		return nil
	}
	return err
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
		err := panics.Try(func() error { return p.exporter.ExportSpans(ctx, batch) })
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
		for n := len(p.queue); n > 0; n-- {
			batch = append(batch, <-p.queue)
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

// handle gives err to the user's error handler h. If h panics, the panic
// goes to otel.Handle as a *panics.Error: it must not end the goroutine
// that exports.
func handle(h func(error), err error) {
	if h == nil {
		return
	}
	if perr := panics.Try(func() error { h(err); return nil }); perr != nil {
		otel.Handle(perr)
	}
}

// queueLen is the number of spans waiting in the queue.
func (p *batchProcessor) queueLen() int { return len(p.queue) }

// recentDrops is the number of spans dropped since the export before the
// last successful one.
func (p *batchProcessor) recentDrops() int64 {
	return p.dropped.Load() - p.droppedAt[0].Load()
}
