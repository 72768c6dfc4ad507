package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/checked"
	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/ringbuffer"
)

var (
	// ErrClosed is returned by Submit, Run, Send and Receive once the pool
	// or channel is shut down (for Receive: and drained).
	ErrClosed = errors.New("concurrency: closed")
	// ErrInvalidWorkers is returned by NewWorkerPool and NewStage for a
	// worker count outside [1, 1<<20] (1,048,576).
	ErrInvalidWorkers = errors.New("concurrency: workers out of range [1, 1048576]")
	// ErrInvalidSize is returned for a size or count out of its range:
	// by NewWorkerPool for WithQueueSize outside [1, 1<<30] (0 keeps the
	// default), by NewTracedChannel for a capacity outside [0, 1<<20],
	// and by FanOut for a number of outputs outside [1, 1<<20].
	ErrInvalidSize = errors.New("concurrency: size out of range")
	// ErrNilFunc is returned by NewWorkerPool and NewStage for a nil
	// function.
	ErrNilFunc = errors.New("concurrency: nil function")
	// ErrInvalidStage is returned by RunPipeline for the zero Stage, such
	// as the one NewStage returns with an error.
	ErrInvalidStage = errors.New("concurrency: the zero Stage cannot run")
)

// TaskError is a task's error in a Run: which input failed, and why.
type TaskError struct {
	Index int
	Err   error
}

// Error names the input and the cause.
func (e *TaskError) Error() string { return fmt.Sprintf("task %d: %v", e.Index, e.Err) }

// Unwrap returns the cause.
func (e *TaskError) Unwrap() error { return e.Err }

// WorkerPool runs one function on a fixed number of workers that take
// tasks from a bounded queue (a ringbuffer.MPMC): Submit and Run block
// while it is full, so a slow pool slows its callers instead of growing
// without bound. A panic in the function is recovered and returned as the
// task's error, a *panics.Error with the stack; a runtime.Goexit in it
// is the task's error too (panics.ErrGoexit), and its worker is replaced.
// Shutdown stops the workers once the queue is drained; none outlives
// it.
//
// A WorkerPool is safe for concurrent use by multiple goroutines and must
// not be copied after first use. The zero WorkerPool is a closed one:
// Submit and Run return ErrClosed.
//
// Telemetry: one span per Run ("concurrency.pool.run"), never one per
// task unless WithItemSpans, and tasks never run under it (see Run, and
// # Traces in the package doc); metrics concurrency.pool.queue.depth and
// concurrency.pool.inflight (gauges), concurrency.pool.task.duration (a
// histogram, recorded only when an SDK listens) and
// concurrency.pool.task.errors. Measured here (BenchmarkWorkerPool in
// benchmarks/), a tiny task costs ~50 ns through Run and ~65 ns through
// Submit, about what 8 goroutines reading a channel cost, with no
// allocation per task.
type WorkerPool[In, Out any] struct {
	fn       func(context.Context, In) (Out, error)
	q        *ringbuffer.MPMC[task[In, Out]]
	cfg      config
	inst     *poolInstrumentation
	busy     []paddedCount // per worker: tasks in hand, for the in-flight gauge
	nworkers int
	workers  sync.WaitGroup
	closed   atomic.Bool
	done     chan struct{} // closed when every worker has exited
}

// paddedCount is a counter on a cache line of its own, so that workers
// counting their own work do not slow each other down.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

// maxTake is the most tasks a worker takes from the queue at once, when
// the queue is long: fewer trips to the queue's shared counters per task.
const maxTake = 32

// task is one queue slot: an input and where its result goes.
type task[In, Out any] struct {
	ctx  context.Context
	in   In
	idx  int
	run  *run[Out]        // a Run's task, or nil
	done func(Out, error) // a Submit's callback, or nil
}

// run is one Run's shared state.
type run[Out any] struct {
	// ctx is what the tasks receive: the run's context with its span
	// taken out (see the package doc, # Traces), cancelled by cancel.
	ctx     context.Context
	link    trace.SpanStartOption // with item spans: links a task's span to the run's
	cancel  context.CancelFunc    // fail fast: the first error cancels ctx
	out     []Out
	errs    errs.Collector
	first   atomic.Pointer[TaskError]
	skipped atomic.Int64 // tasks not run because ctx ended
	wg      sync.WaitGroup
}

// Bounds of the sizes and counts this package takes: each is checked
// before anything is allocated, and one out of range is a typed error.
const (
	maxWorkers  = 1 << 20 // workers of a pool or a stage
	maxQueue    = 1 << 30 // a pool's queue: the ring buffer's own bound
	maxCapacity = 1 << 20 // a TracedChannel's buffer, FanOut's outputs
)

// NewWorkerPool starts workers goroutines running fn. It returns
// ErrInvalidWorkers for workers outside [1, 1<<20], ErrInvalidSize for
// a WithQueueSize outside [1, 1<<30] (the default, 64 per worker, is
// capped at 1<<30), ErrNilFunc for a nil fn, and the error of creating
// its metrics, if any (a *panics.Error if the MeterProvider or
// TracerProvider panics).
func NewWorkerPool[In, Out any](workers int, fn func(context.Context, In) (Out, error), opts ...Option) (*WorkerPool[In, Out], error) {
	if workers < 1 || workers > maxWorkers {
		return nil, fmt.Errorf("%w: %d", ErrInvalidWorkers, workers)
	}
	if fn == nil {
		return nil, ErrNilFunc
	}
	cfg := newConfig("pool", opts)
	switch {
	case cfg.queueSize == 0:
		n, ok := checked.Mul(64, int64(workers))
		if !ok || n > maxQueue {
			n = maxQueue
		}
		cfg.queueSize = int(n)
	case cfg.queueSize < 0 || cfg.queueSize > maxQueue:
		return nil, fmt.Errorf("%w: queue size %d outside [1, %d]", ErrInvalidSize, cfg.queueSize, maxQueue)
	}
	p := &WorkerPool[In, Out]{fn: fn, q: ringbuffer.NewMPMC[task[In, Out]](cfg.queueSize), cfg: cfg,
		busy: make([]paddedCount, workers), nworkers: workers, done: make(chan struct{})}
	// The providers are the user's code: a panic in them is New's error.
	var inst *poolInstrumentation
	if err := panics.Try(func() (err error) {
		inst, err = newPoolInstrumentation(&cfg, p.q.Len, p.inflight)
		return err
	}); err != nil {
		return nil, err
	}
	p.inst = inst
	p.workers.Add(workers)
	for w := range workers {
		go p.worker(&workerState[In, Out]{busy: &p.busy[w], buf: make([]task[In, Out], maxTake)})
	}
	go func() {
		p.workers.Wait()
		// Unregister calls into the MeterProvider, the user's code: under
		// Guard, so that done is closed even if it calls runtime.Goexit.
		panics.Guard(p.inst.shutdown, func(err error) {
			if err != nil {
				p.handle(nil, fmt.Errorf("concurrency: %s: shutdown: %w", p.cfg.name, err))
			}
			close(p.done)
		})
	}()
	return p, nil
}

// inflight sums the workers' counts of tasks in hand.
func (p *WorkerPool[In, Out]) inflight() int64 {
	var n int64
	for i := range p.busy {
		n += p.busy[i].n.Load()
	}
	return n
}

// workerState is a worker's batch and where it is in it. It outlives
// the worker's goroutine: if user code ends that goroutine
// (runtime.Goexit), a replacement takes the state over, fails the task
// in hand and runs the rest of the batch, so that the pool keeps its
// number of workers and no task is lost.
type workerState[In, Out any] struct {
	busy     *paddedCount
	buf      []task[In, Out]
	batch    []task[In, Out] // buf[:n], the batch in hand
	i        int             // batch[i] is the task in hand
	r        *run[Out]       // the run of the tasks counted in finished
	finished int             // tasks of r finished, not yet counted down
	stage    stage           // what the worker is doing with batch[i]
	died     error           // why the previous goroutine ended, for its replacement
}

// stage is where a worker is in a task, so that a replacement knows what
// the task still needs.
type stage uint8

const (
	stageIdle     stage = iota
	stageRunning        // fn (and its telemetry) runs: no result yet
	stageCallback       // the Submit callback has the result
	stageHandler        // the error handler runs
)

// worker runs work under panics.Guard until the queue is closed and
// drained. Nothing in work is expected to panic (call recovers fn and its
// telemetry, and the callbacks run under panics), but user code can end
// the goroutine with runtime.Goexit: then a replacement worker takes the
// state over before this one counts itself out.
func (p *WorkerPool[In, Out]) worker(w *workerState[In, Out]) {
	defer p.workers.Done()
	panics.Guard(func() error { p.work(w); return nil }, func(err error) {
		if err == nil {
			return // closed and drained
		}
		w.died = err
		p.workers.Add(1) // before this one's Done: Shutdown waits for it
		go p.worker(w)
	})
}

// work takes tasks from the queue until it is closed and drained: one at
// a time while the queue is short, so that work spreads over the
// workers, and up to maxTake at a time while it is long. A worker that
// replaces a dead one first finishes the dead one's batch.
func (p *WorkerPool[In, Out]) work(w *workerState[In, Out]) {
	if w.died != nil {
		p.resume(w)
	}
	for {
		want := min(max(p.q.Len()/p.nworkers, 1), maxTake)
		n, err := p.q.PopBatch(context.Background(), w.buf[:want])
		if n == 0 && err != nil {
			return // closed and drained
		}
		w.batch, w.i = w.buf[:n], 0
		p.runBatch(w)
	}
}

// runBatch runs the batch from w.i on. It reports a Run's finished tasks
// once per run per batch, not once per task.
func (p *WorkerPool[In, Out]) runBatch(w *workerState[In, Out]) {
	for ; w.i < len(w.batch); w.i++ {
		t := &w.batch[w.i]
		if t.run != w.r {
			w.countDown()
			w.r = t.run
		}
		w.busy.n.Store(int64(len(w.batch) - w.i)) // on this worker's own cache line
		p.execute(w, t)
		w.done(t)
	}
	w.busy.n.Store(0) // before the count down, so a Run that returns sees nothing in flight
	w.countDown()
	w.batch = nil
}

// done marks the task in hand finished.
func (w *workerState[In, Out]) done(t *task[In, Out]) {
	if t.run != nil {
		w.finished++
	}
	*t = task[In, Out]{} // drop references
	w.stage = stageIdle
}

// countDown tells the run how many of its tasks finished.
func (w *workerState[In, Out]) countDown() {
	if w.r != nil && w.finished > 0 {
		w.r.wg.Add(-w.finished)
	}
	w.finished = 0
}

// resume runs on a worker that replaces one whose goroutine ended in
// user code: the task in hand gets the error (panics.ErrGoexit) if it
// had no result yet, a callback that ended the goroutine is reported to
// the error handler, and the rest of the batch runs.
func (p *WorkerPool[In, Out]) resume(w *workerState[In, Out]) {
	err := w.died
	w.died = nil
	if w.i >= len(w.batch) {
		w.stage = stageIdle
		return // between batches: nothing in hand
	}
	t := &w.batch[w.i]
	switch w.stage {
	case stageRunning:
		var zero Out
		p.deliver(w, t, zero, err)
	case stageCallback:
		p.handle(w, fmt.Errorf("concurrency: %s: a Submit callback: %w", p.cfg.name, err))
	case stageHandler:
		// The error handler ended the goroutine: nobody is left to tell.
	}
	w.done(t)
	w.i++
	p.runBatch(w)
}

// execute runs one task and delivers its result; a Run's task is counted
// finished by the caller. It does not panic: fn, the Submit callback and
// the error handler run under panics, and so does the telemetry around fn
// (a TracerProvider or MeterProvider is the user's code too), so that a
// worker never dies of a panic and a Run never waits for a task that
// will not end. (A Goexit is handled by worker and resume.)
func (p *WorkerPool[In, Out]) execute(w *workerState[In, Out], t *task[In, Out]) {
	if r := t.run; r != nil && !p.cfg.collectAll && r.ctx.Err() != nil {
		r.skipped.Add(1) // the run failed fast or was cancelled: skip
		return
	}
	w.stage = stageRunning
	out, err := p.call(t)
	p.deliver(w, t, out, err)
}

// deliver hands a task's result to its owner.
func (p *WorkerPool[In, Out]) deliver(w *workerState[In, Out], t *task[In, Out], out Out, err error) {
	switch {
	case t.run != nil:
		t.run.finish(t.idx, out, err)
	case t.done != nil:
		w.stage = stageCallback
		p.safely(w, func() { t.done(out, err) })
	case err != nil:
		p.handle(w, fmt.Errorf("concurrency: %s: unobserved task error: %w", p.cfg.name, err))
	}
}

// safely runs a Submit callback, reporting a panic in it to the error
// handler instead of crashing the worker.
func (p *WorkerPool[In, Out]) safely(w *workerState[In, Out], f func()) {
	if err := panics.Try(func() error { f(); return nil }); err != nil {
		p.handle(w, fmt.Errorf("concurrency: %s: a Submit callback panicked: %w", p.cfg.name, err))
	}
}

// handle gives err to the error handler. A panicking error handler is
// dropped: there is nobody left to tell. w, if not nil, is the worker
// calling it, marked so that a handler calling runtime.Goexit is not
// called again about itself.
func (p *WorkerPool[In, Out]) handle(w *workerState[In, Out], err error) {
	if w != nil {
		w.stage = stageHandler
	}
	_ = panics.Try(func() error { p.cfg.errorHandler(err); return nil })
}

// call runs fn on t's input with its telemetry, turning a panic into a
// *panics.Error.
func (p *WorkerPool[In, Out]) call(t *task[In, Out]) (out Out, err error) {
	defer panics.Recover(&err)
	ctx := t.ctx
	var span trace.Span
	if p.cfg.itemSpans {
		ctx, span = p.startTask(t)
	}
	timed := p.inst.timed(ctx)
	var start time.Time
	if timed {
		start = time.Now()
	}
	out, err = p.invoke(ctx, t.in)
	if timed {
		p.inst.duration.Record(ctx, time.Since(start).Seconds(), p.inst.recordOpts...)
	}
	if err != nil {
		p.inst.errors.Add(ctx, 1, p.inst.addOpts...)
	}
	if span != nil {
		errs.Record(span, err)
		span.End()
	}
	return out, err
}

// startTask starts t's span. A Run's task is the root of a trace of its
// own, linked to the run's span: a run of any size adds one span to its
// caller's trace, and each task is sampled on its own. A Submit's task is a child of the
// span in the ctx given to Submit, the task's own sender: it continues
// that trace, as a messaging consumer may parent the processing of a
// single message on its creation context.
func (p *WorkerPool[In, Out]) startTask(t *task[In, Out]) (context.Context, trace.Span) {
	attrs := trace.WithAttributes(attribute.Int("concurrency.task.index", t.idx))
	if t.run == nil {
		return p.inst.tracer.Start(t.ctx, "concurrency.pool.task", attrs)
	}
	return p.inst.tracer.Start(t.ctx, "concurrency.pool.task", attrs, trace.WithNewRoot(), t.run.link)
}

// invoke runs fn, turning a panic into a *panics.Error, so that the
// task's telemetry records it.
func (p *WorkerPool[In, Out]) invoke(ctx context.Context, in In) (out Out, err error) {
	defer panics.Recover(&err)
	return p.fn(ctx, in)
}

func (r *run[Out]) finish(idx int, out Out, err error) {
	if err != nil {
		te := &TaskError{Index: idx, Err: err}
		r.errs.Add(te)
		if r.first.CompareAndSwap(nil, te) && r.cancel != nil {
			r.cancel()
		}
		return
	}
	r.out[idx] = out
}

// Submit queues one task, waiting while the queue is full; done (which
// may be nil) receives its result on the worker's goroutine and must not
// block for long (a panic in it is recovered and reported to the error
// handler). A failed task with a nil done goes to the error handler
// (WithErrorHandler). Submit returns ErrClosed after Shutdown, or ctx's
// error if ctx ends while waiting; fn later receives ctx, span and all:
// a submitted task is one item whose sender is the caller, so it
// continues the caller's trace (with WithItemSpans, its
// "concurrency.pool.task" span is a child of ctx's span). Submitting
// from a loop that runs under one long span makes every task its child;
// give such a loop's Submit a ctx without it, as Run does for its tasks.
func (p *WorkerPool[In, Out]) Submit(ctx context.Context, in In, done func(Out, error)) error {
	mustContext(ctx)
	return p.push(ctx, task[In, Out]{ctx: ctx, in: in, done: done})
}

func (p *WorkerPool[In, Out]) push(ctx context.Context, t task[In, Out]) error {
	if p == nil || p.q == nil {
		return ErrClosed
	}
	if err := p.q.Push(ctx, t); err != nil {
		if errors.Is(err, ringbuffer.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// Run runs fn on every input and returns the outputs in the order of the
// inputs. By default it fails fast: the first error cancels the context
// the other tasks receive, tasks not yet started are skipped, and Run
// returns that error as a *TaskError naming the input. WithCollectAll
// runs every task and returns all errors joined. If ctx ends, Run stops
// queueing, waits for the tasks it queued, and returns ctx's error. Run
// returns ErrClosed after Shutdown, even for no inputs. Several Runs may
// share a pool. With WithCollectAll, an ended ctx is returned joined
// with the errors of the tasks that ran. A task whose fn calls
// runtime.Goexit fails with panics.ErrGoexit (its worker is replaced). A
// TracerProvider that panics starting the run's span is Run's error, a
// *panics.Error, and no task runs; ending and recording the span run
// under panics, a panic there dropped.
//
// The run's span ("concurrency.pool.run") is a child of ctx's span, but
// the tasks do not run under it: the ctx fn receives has ctx's values and
// the run's cancellation and no span, so what fn traces is a trace of its
// own per task, sampled on its own, and the run adds one span to ctx's
// trace however many inputs there are. With WithItemSpans, each task's
// "concurrency.pool.task" span is the root of that trace, linked to the
// run's span, and fn's spans are its children.
func (p *WorkerPool[In, Out]) Run(ctx context.Context, inputs []In) ([]Out, error) {
	mustContext(ctx)
	if p == nil || p.q == nil || p.closed.Load() {
		return nil, ErrClosed
	}
	ctx, span, err := startSpan(ctx, p.inst.tracer, "concurrency.pool.run", trace.WithAttributes(
		attribute.String("concurrency.pool", p.cfg.name), attribute.Int("concurrency.run.tasks", len(inputs))))
	if err != nil {
		return nil, err
	}
	defer endSpan(span)
	r := &run[Out]{out: make([]Out, len(inputs))}
	if p.cfg.itemSpans {
		r.link = linkTo(spanContextOf(span))
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	defer r.cancel()
	r.ctx = withoutSpan(r.ctx) // the tasks are not the run's children: see # Traces
	r.wg.Add(len(inputs))
	// Tasks are queued in chunks, each claimed with one compare-and-swap.
	chunk := make([]task[In, Out], 0, min(len(inputs), maxTake))
	var queueErr error
	for i := 0; i < len(inputs); {
		chunk = chunk[:0]
		for j := i; j < len(inputs) && len(chunk) < cap(chunk); j++ {
			chunk = append(chunk, task[In, Out]{ctx: r.ctx, in: inputs[j], idx: j, run: r})
		}
		n, err := p.q.PushBatch(ctx, chunk)
		i += n
		if err != nil {
			if errors.Is(err, ringbuffer.ErrClosed) {
				err = ErrClosed
			}
			r.wg.Add(i - len(inputs)) // the rest will never run
			queueErr = err
			break
		}
		if !p.cfg.collectAll && r.first.Load() != nil {
			r.wg.Add(i - len(inputs)) // failed fast: queue no more
			break
		}
	}
	r.wg.Wait()
	switch {
	case p.cfg.collectAll:
		// Nothing lost: the tasks' errors with the reason queueing stopped.
		err = errors.Join(queueErr, r.errs.Err())
	case r.first.Load() != nil:
		err = errors.Join(queueErr, r.first.Load())
	case queueErr != nil:
		err = queueErr
	case r.skipped.Load() > 0:
		err = context.Cause(ctx) // the caller's ctx ended: some tasks never ran
	}
	recordSpan(span, err)
	return r.out, err
}

// Shutdown stops taking tasks, lets the workers finish every task already
// queued, and waits for them to exit, or for ctx to end (then it returns
// ctx's error and the workers finish in the background). It may be called
// more than once; each call waits for the same end.
func (p *WorkerPool[In, Out]) Shutdown(ctx context.Context) error {
	mustContext(ctx)
	if p == nil || p.q == nil {
		return nil
	}
	if p.closed.CompareAndSwap(false, true) {
		p.q.Close()
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
