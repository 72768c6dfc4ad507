package orderbook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/ringbuffer"
)

// ErrClosed is returned by Engine methods called after Shutdown.
var ErrClosed = errors.New("orderbook: engine shut down")

// Result is what one command did, as the Engine reports it to handlers.
type Result struct {
	// Seq is the command's position in the log, from 1; 0 when Err is set.
	Seq     uint64
	Command Command
	// Events is what Book.Apply returned. It is valid only until the
	// handler returns: copy what you keep.
	Events []Event
	// Err is set, and Events empty, when the engine could not carry the
	// command out because its log could not be written (a *LogError).
	Err error
}

// Handler receives results on the engine's matching goroutine, in log
// order. It must be quick and must not block or call the Engine, since
// matching waits for it; hand the result to another goroutine for slow
// work. A panic in a handler is recovered and reported to the error
// handler (see WithErrorHandler) as an error wrapping a *panics.Error,
// which holds the panic value and stack (errors.As finds it), and
// matching goes on.
type Handler func(Result)

// Engine matches commands from many goroutines on one: callers enqueue
// commands on a lock-free ring buffer; one matching goroutine takes them
// in batches, appends each batch to the command log in one write, applies
// it to its Book, and reports every result to the command's handler and
// to the event stream. It is the LMAX shape: the book needs no lock, and
// the log replays to an identical book (Replay, OpenEngine).
//
// An Engine is safe for concurrent use by multiple goroutines. Commands
// from one goroutine are matched in the order it sent them. Shutdown
// stops it. The zero Engine is a stopped one, whose methods return
// ErrClosed; use NewEngine or OpenEngine.
//
// Telemetry: one span per batch ("orderbook.batch", with its command,
// fill and reject counts), never one per order; counters
// orderbook.commands (by op), orderbook.fills and orderbook.rejects (by
// reason), and the gauge orderbook.queue.depth.
type Engine struct {
	q    *ringbuffer.MPMC[request]
	cfg  config
	inst *instrumentation

	// Owned by the matching goroutine.
	book   *Book
	log    io.Writer
	file   *os.File // the log, if OpenEngine opened it: synced and closed at the end
	logOff int64
	seq    uint64

	failed atomic.Pointer[LogError] // the log write that stopped the engine
	closed atomic.Bool
	done   chan struct{} // closed when the matching goroutine has finished
	endErr error         // the matching goroutine's final error, set before done closes

	waiters sync.Pool // of *waiter, for Do
}

// request is one queue slot.
type request struct {
	cmd Command
	h   Handler
	w   *waiter
}

// opSnapshot is a request that takes a snapshot instead of being matched;
// it is never logged.
const opSnapshot Op = 0xff

// waiter is how Do and Snapshot wait for their request.
type waiter struct {
	done   chan struct{}
	seq    uint64
	events []Event
	snap   []byte
	err    error
}

// NewEngine starts an engine with an empty book that logs commands to log
// (io.Discard for none). It writes the log header first and returns its
// error, or ErrInvalidConfig for a nil log or a bad option.
func NewEngine(log io.Writer, opts ...Option) (*Engine, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if log == nil {
		return nil, fmt.Errorf("%w: nil log (use io.Discard for none)", ErrInvalidConfig)
	}
	if _, err := log.Write(appendLogHeader(nil, cfg.stp)); err != nil {
		return nil, &LogError{Offset: 0, Err: err}
	}
	return start(cfg, NewBook(cfg.stp), log, nil, int64(logHeaderSize), 0)
}

// OpenEngine starts an engine whose log is the file at path. A missing
// file, or an empty one (as a crash just after creating it leaves it), is
// made a new log with an empty book. An existing log is replayed first,
// so the engine goes on from the book and sequence number it had; a log
// torn by a crash during a write is cut back to its last whole frame
// (whose commands are all the engine had matched). Any other file is
// refused and left byte for byte as it was: a damaged log with an error
// wrapping ErrCorruptLog, and a file that is not a command log (other
// magic bytes, or from 1 byte up to a header's length, even if those
// bytes begin a header, since OpenEngine cannot tell a foreign file from
// a header torn in the instant after creation) with one wrapping
// ErrNotLog. Remove such a file to start afresh.
func OpenEngine(path string, opts ...Option) (*Engine, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Engine, error) {
		f.Close()
		return nil, err
	}
	var (
		book *Book
		seq  uint64
		off  int64
	)
	fi, err := f.Stat()
	switch {
	case err != nil:
		return fail(err)
	case fi.Size() > 0 && fi.Size() < int64(logHeaderSize):
		return fail(fmt.Errorf("orderbook: open %s: %w", path, &LogError{Offset: 0, Err: notLog(fmt.Sprintf("%d bytes, too short for a header", fi.Size()))}))
	case fi.Size() > 0:
		book, seq, off, err = replay(f)
		if err != nil && (book == nil || !errors.Is(err, ErrTruncatedLog)) {
			return fail(fmt.Errorf("orderbook: open %s: %w", path, err))
		}
		// A torn last frame: cut it off below.
	}
	if book == nil { // a new or empty file
		if _, err := f.Write(appendLogHeader(nil, cfg.stp)); err != nil {
			return fail(&LogError{Offset: 0, Err: err})
		}
		book, off = NewBook(cfg.stp), int64(logHeaderSize)
	} else if cfg.stpSet && cfg.stp != book.stp {
		return fail(fmt.Errorf("%w: %s was written with self-trade policy %d, not %d", ErrInvalidConfig, path, book.stp, cfg.stp))
	}
	if err := f.Truncate(off); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fail(err)
	}
	return start(cfg, book, f, f, off, seq)
}

func start(cfg config, book *Book, log io.Writer, file *os.File, off int64, seq uint64) (*Engine, error) {
	e := &Engine{
		q:      ringbuffer.NewMPMC[request](cfg.queueSize),
		cfg:    cfg,
		book:   book,
		log:    log,
		file:   file,
		logOff: off,
		seq:    seq,
		done:   make(chan struct{}),
	}
	inst, err := newInstrumentation(&e.cfg, e.q.Len)
	if err != nil {
		if file != nil {
			file.Close()
		}
		return nil, err
	}
	e.inst = inst
	e.waiters.New = func() any { return &waiter{done: make(chan struct{}, 1)} }
	go e.run()
	return e, nil
}

// Send enqueues a command, waiting while the queue is full, and returns
// once it is queued; h (which may be nil) later receives its result on
// the matching goroutine. It returns ErrUnknownOp for a command with an
// unknown Op (nothing is queued), ErrClosed after Shutdown, the log's
// *LogError once a log write has failed, or ctx's error if ctx ends while
// the queue is full. A Send that returned nil always gets its result,
// even if Shutdown follows at once.
func (e *Engine) Send(ctx context.Context, c Command, h Handler) error {
	if c.Op < OpSubmit || c.Op > OpModify {
		return fmt.Errorf("%w: %d", ErrUnknownOp, c.Op)
	}
	return e.push(ctx, request{cmd: c, h: h})
}

func (e *Engine) push(ctx context.Context, r request) error {
	if e.q == nil {
		return ErrClosed // the zero Engine
	}
	if le := e.failed.Load(); le != nil {
		return le
	}
	if err := e.q.Push(ctx, r); err != nil {
		if errors.Is(err, ringbuffer.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// Do sends a command and waits for its result, appending its events to
// events and returning them with the command's log sequence number. It
// returns the errors Send does, and the *LogError that kept the command
// from being carried out. If ctx ends after the command was queued, Do
// returns ctx's error and the command is still carried out; its result
// then reaches only the event stream.
func (e *Engine) Do(ctx context.Context, c Command, events []Event) ([]Event, uint64, error) {
	if c.Op < OpSubmit || c.Op > OpModify {
		return events, 0, fmt.Errorf("%w: %d", ErrUnknownOp, c.Op)
	}
	w := e.waiters.Get().(*waiter)
	if err := e.push(ctx, request{cmd: c, w: w}); err != nil {
		e.waiters.Put(w)
		return events, 0, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return events, 0, ctx.Err() // w belongs to the matching goroutine now; drop it
	}
	events, seq, err := append(events, w.events...), w.seq, w.err
	w.err = nil
	e.waiters.Put(w)
	return events, seq, err
}

// Snapshot returns the book's snapshot (Book.AppendSnapshot) after every
// command queued before it, and the sequence number of the last of them.
func (e *Engine) Snapshot(ctx context.Context) ([]byte, uint64, error) {
	w := &waiter{done: make(chan struct{}, 1)}
	if err := e.push(ctx, request{cmd: Command{Op: opSnapshot}, w: w}); err != nil {
		return nil, 0, err
	}
	select {
	case <-w.done:
		return w.snap, w.seq, w.err
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

// Shutdown stops taking commands, waits for the matching goroutine to
// carry out every command already queued, and then syncs and closes the
// log file if OpenEngine opened it. It returns ctx's error if ctx ends
// first (the engine still finishes in the background), and otherwise the
// log's error, if any. It may be called more than once and from several
// goroutines; each call waits for the same end and returns its result.
func (e *Engine) Shutdown(ctx context.Context) error {
	if e.q == nil {
		return nil // the zero Engine: nothing to stop
	}
	if e.closed.CompareAndSwap(false, true) {
		e.q.Close()
	}
	select {
	case <-e.done:
		return e.endErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the matching goroutine.
func (e *Engine) run() {
	batch := make([]request, e.cfg.batchSize)
	events := make([]Event, 0, 256)
	var frame frameBuffer
	for {
		n, err := e.q.PopBatch(context.Background(), batch)
		if n > 0 {
			events = e.process(batch[:n], &frame, events)
			clear(batch[:n]) // drop handler and waiter references
		}
		if err != nil {
			break // closed and drained
		}
	}
	var errs []error
	if le := e.failed.Load(); le != nil {
		errs = append(errs, le)
	}
	if e.file != nil {
		errs = append(errs, e.file.Sync(), e.file.Close())
	}
	errs = append(errs, e.inst.shutdown())
	e.endErr = errors.Join(errs...)
	close(e.done)
}

// process logs a batch in one frame, then matches it and reports results.
func (e *Engine) process(batch []request, frame *frameBuffer, events []Event) []Event {
	ctx, span := e.inst.tracer.Start(context.Background(), "orderbook.batch")
	defer span.End()

	logErr := e.failed.Load()
	if logErr == nil {
		logErr = e.writeFrame(batch, frame)
	}
	var counts batchCounts
	first := e.seq + 1
	for i := range batch {
		r := &batch[i]
		if r.cmd.Op == opSnapshot {
			r.w.snap, r.w.seq = e.book.AppendSnapshot(nil), e.seq
			r.w.done <- struct{}{}
			continue
		}
		res := Result{Command: r.cmd}
		if logErr != nil {
			res.Err = logErr
		} else {
			e.seq++
			events = e.book.Apply(r.cmd, events[:0])
			res.Seq, res.Events = e.seq, events
			counts.ops[r.cmd.Op]++
			for _, ev := range events {
				switch ev.Kind {
				case Filled:
					counts.fills++
				case Rejected:
					counts.rejects[ev.Reason]++
				}
			}
			if e.cfg.stream != nil {
				e.call(e.cfg.stream, res)
			}
		}
		if r.h != nil {
			e.call(r.h, res)
		}
		if w := r.w; w != nil {
			w.events, w.seq, w.err = append(w.events[:0], res.Events...), res.Seq, res.Err
			w.done <- struct{}{}
		}
	}
	e.inst.record(ctx, span, &counts, first, len(batch))
	return events
}

// writeFrame appends the batch's commands to the log in one write, and
// syncs it if asked. A failure stops the engine for good: the log may now
// end in a torn frame, and nothing may follow it.
func (e *Engine) writeFrame(batch []request, frame *frameBuffer) *LogError {
	frame.reset()
	for i := range batch {
		if batch[i].cmd.Op != opSnapshot {
			frame.buf, _ = batch[i].cmd.AppendBinary(frame.buf) // ops were checked by Send
		}
	}
	if frame.empty() {
		return nil
	}
	b := frame.finish()
	n, err := e.log.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil && e.cfg.sync {
		if s, ok := e.log.(interface{ Sync() error }); ok {
			err = s.Sync()
		}
	}
	if err != nil {
		le := &LogError{Offset: e.logOff, Err: err}
		e.failed.Store(le)
		e.report(fmt.Errorf("orderbook: engine stopped matching: %w", le))
		return le
	}
	e.logOff += int64(n)
	return nil
}

// call runs a handler under panics.Try, so that a panic in it is reported
// to the error handler as an error wrapping the *panics.Error (with the
// stack) and matching goes on.
func (e *Engine) call(h Handler, res Result) {
	if err := panics.Try(func() error { h(res); return nil }); err != nil {
		e.report(fmt.Errorf("orderbook: handler panicked on command %d: %w", res.Seq, err))
	}
}

// report gives err to the error handler, under panics.Try too: if the
// error handler itself panics, both err and that panic go to otel.Handle
// instead, and matching goes on.
func (e *Engine) report(err error) {
	if perr := panics.Try(func() error { e.cfg.errorHandler(err); return nil }); perr != nil {
		otel.Handle(errors.Join(err, fmt.Errorf("orderbook: error handler panicked: %w", perr)))
	}
}
