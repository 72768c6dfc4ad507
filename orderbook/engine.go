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
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/ringbuffer"
)

// ErrClosed is returned by Engine methods called after Shutdown.
var ErrClosed = errors.New("orderbook: engine shut down")

// ErrLogLocked is returned by OpenEngine when another engine, in this
// process or another, has the log file open: two engines appending to
// one log would overwrite each other's frames. The file is left as it
// was. Shut the other engine down first.
var ErrLogLocked = errors.New("orderbook: command log is in use by another engine")

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
// matching goes on. A handler that calls runtime.Goexit (t.FailNow in a
// test) ends the matching goroutine, which nothing can prevent; the
// engine then reports an error wrapping panics.ErrGoexit to the error
// handler and goes on, on a new matching goroutine, with the next
// handler of the same command or the next command, exactly as after a
// return: no result is lost or delivered twice.
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
// fill and reject counts), never one per order, each the root of a trace
// of its own (see # Traces in the package doc); counters
// orderbook.commands (by op), orderbook.fills and orderbook.rejects (by
// reason), and the gauge orderbook.queue.depth.
type Engine struct {
	q    *ringbuffer.MPMC[request]
	cfg  config
	inst *instrumentation

	// Owned by the matching goroutine.
	m      matcher
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
// error, or ErrInvalidConfig for a nil log or a bad option. A panic in
// log's Write, there or later on the matching goroutine, is a failed
// write: a *LogError wrapping the *panics.Error (and a runtime.Goexit in
// it later, one wrapping panics.ErrGoexit), which stops the engine as
// any log write error does.
func NewEngine(log io.Writer, opts ...Option) (*Engine, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if log == nil {
		return nil, fmt.Errorf("%w: nil log (use io.Discard for none)", ErrInvalidConfig)
	}
	if _, err := writeLog(log, appendLogHeader(nil, cfg.stp), false); err != nil {
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
// ErrNotLog; so is anything but a regular file (a FIFO, a device such as
// /dev/null, a socket), before a byte is written to it. Remove such a
// file to start afresh.
//
// OpenEngine locks the file (an exclusive flock, on Unix) before it reads
// or writes it, and the engine holds the lock until Shutdown, so a second
// engine on the same log, in this process or another, fails with an
// error wrapping ErrLogLocked and leaves the file as it was. A failed
// OpenEngine releases the lock. Elsewhere (Windows, Plan 9, WASI) there is
// no lock: never open one log from two engines there.
func OpenEngine(path string, opts ...Option) (*Engine, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	// Refuse what is not a regular file before opening it, since opening
	// a FIFO or a device can block or act; and again after, below, in case
	// the path changed in between.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Engine, error) {
		f.Close() // and the lock with it
		return nil, err
	}
	var (
		book *Book
		seq  uint64
		off  int64
	)
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(notRegular(path, fi))
	}
	if err := lockLog(f); err != nil {
		return fail(fmt.Errorf("orderbook: open %s: %w", path, err))
	}
	if fi, err = f.Stat(); err != nil { // the size now that no engine writes it
		return fail(err)
	}
	switch {
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

// notRegular is OpenEngine's error for a path that is not a regular file.
func notRegular(path string, fi os.FileInfo) error {
	return fmt.Errorf("orderbook: open %s: %w", path, &LogError{Offset: 0, Err: notLog(fmt.Sprintf("not a regular file (%v)", fi.Mode().Type()))})
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
	e.m.batch = make([]request, cfg.batchSize)
	e.m.events = make([]Event, 0, 256)
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
// log file if OpenEngine opened it, which releases its lock. It returns ctx's error if ctx ends
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

// matcher is the matching goroutine's state. It lives in the Engine and
// not on the goroutine's stack so that, when a callback ends the
// goroutine with runtime.Goexit, a new goroutine goes on exactly where
// the old one stopped (see run): every step that calls user code is
// marked done before the call, so nothing is done twice or skipped.
type matcher struct {
	batch  []request
	n      int // requests in batch; 0 between batches
	i      int // the request being carried out
	phase  phase
	step   step // how far batch[i] got
	closed bool // the queue is closed and drained: end after this batch

	res    Result // batch[i]'s result
	events []Event
	frame  frameBuffer
	logErr *LogError // why this batch is not matched, if it is not
	counts batchCounts
	first  uint64
	ctx    context.Context
	span   trace.Span

	in         callee // which user code runs now, for goexited
	reporting  error  // the error the error handler is being given
	lost       error  // a Goexit to report when matching resumes
	lostToOtel bool   // lost goes to otel.Handle, not the error handler
}

type phase uint8

const (
	phaseTrace  phase = iota // start the batch's span
	phaseLog                 // log the batch
	phaseMatch               // match it and report results
	phaseRecord              // record its telemetry and end its span
)

type step uint8

const (
	stepMatch   step = iota // match batch[i]
	stepStream              // give its result to the event stream
	stepHandler             // and to its handler
	stepWaiter              // and to its waiter
)

// callee is the user code the matching goroutine is running.
type callee uint8

const (
	inEngine callee = iota
	inStream
	inHandler
	inErrorHandler
	inOtelHandle
	inLog
	inTelemetry
)

// noSpan stands in for a span whose Start ended the goroutine.
var noSpan trace.Span = noop.Span{}

// run is the matching goroutine. A callback that calls runtime.Goexit
// ends it, and nothing can stop that; the deferred goexited then starts
// a new matching goroutine that reports the Goexit and goes on from the
// state the old one left in e.m. There is one matching goroutine at any
// time, and the go statement orders the old one's writes before the new
// one's reads.
func (e *Engine) run() {
	returned := false
	defer func() {
		if !returned {
			e.goexited()
		}
	}()
	e.match()
	returned = true
}

// goexited runs, deferred, while a callback's runtime.Goexit ends the
// matching goroutine. It calls no user code: it notes what to report and
// starts the next matching goroutine, which reports it.
func (e *Engine) goexited() {
	m := &e.m
	switch m.in {
	case inStream:
		m.lost = fmt.Errorf("orderbook: event stream called runtime.Goexit on command %d: %w", m.res.Seq, panics.ErrGoexit)
	case inHandler:
		m.lost = fmt.Errorf("orderbook: handler called runtime.Goexit on command %d: %w", m.res.Seq, panics.ErrGoexit)
	case inErrorHandler:
		m.lost = errors.Join(m.reporting, fmt.Errorf("orderbook: error handler called runtime.Goexit: %w", panics.ErrGoexit))
		m.lostToOtel = true
	case inLog:
		le := &LogError{Offset: e.logOff, Err: fmt.Errorf("orderbook: log writer called runtime.Goexit: %w", panics.ErrGoexit)}
		e.failed.Store(le)
		m.logErr = le
		m.lost = fmt.Errorf("orderbook: engine stopped matching: %w", le)
	case inTelemetry:
		m.lost = fmt.Errorf("orderbook: telemetry called runtime.Goexit: %w", panics.ErrGoexit)
	case inOtelHandle:
		// otel.Handle itself exited: there is nowhere left to report to.
	}
	m.in, m.reporting = inEngine, nil
	go e.run()
}

// match takes batches from the queue and carries them out until the
// queue is closed and drained, then closes the log and ends the engine.
// It starts from wherever e.m says, so that a new matching goroutine can
// resume a batch.
func (e *Engine) match() {
	m := &e.m
	for {
		if m.lost != nil {
			err, toOtel := m.lost, m.lostToOtel
			m.lost, m.lostToOtel = nil, false
			if toOtel {
				e.handleOtel(err)
			} else {
				e.report(err)
			}
		}
		if m.n == 0 {
			if m.closed {
				break
			}
			n, err := e.q.PopBatch(context.Background(), m.batch)
			m.closed = err != nil // closed and drained
			if n == 0 {
				continue
			}
			m.n, m.i, m.phase, m.step = n, 0, phaseTrace, stepMatch
		}
		e.process()
	}
	var errs []error
	if le := e.failed.Load(); le != nil {
		errs = append(errs, le)
	}
	if e.file != nil {
		errs = append(errs, e.file.Sync(), e.file.Close()) // Close releases the lock
	}
	errs = append(errs, e.inst.shutdown())
	e.endErr = errors.Join(errs...)
	close(e.done)
}

// process logs the batch e.m holds in one frame, then matches it and
// reports results, going on from the phase and step it had reached.
func (e *Engine) process() {
	m := &e.m
	batch := m.batch[:m.n]
	if m.phase == phaseTrace {
		m.phase = phaseLog
		m.ctx, m.span = context.Background(), noSpan
		m.in = inTelemetry
		m.ctx, m.span = e.inst.tracer.Start(context.Background(), "orderbook.batch")
		m.in = inEngine
	}
	if m.phase == phaseLog {
		m.phase = phaseMatch
		m.counts, m.first = batchCounts{}, e.seq+1
		m.logErr = e.failed.Load()
		if m.logErr == nil {
			e.writeFrame(batch)
		}
	}
	if m.phase == phaseMatch {
		for ; m.i < len(batch); m.i, m.step = m.i+1, stepMatch {
			r := &batch[m.i]
			if m.step == stepMatch {
				if r.cmd.Op == opSnapshot {
					r.w.snap, r.w.seq = e.book.AppendSnapshot(nil), e.seq
					r.w.done <- struct{}{}
					continue
				}
				m.step = stepStream
				m.res = Result{Command: r.cmd}
				if m.logErr != nil {
					m.res.Err = m.logErr
				} else {
					e.seq++
					m.events = e.book.Apply(r.cmd, m.events[:0])
					m.res.Seq, m.res.Events = e.seq, m.events
					m.counts.ops[r.cmd.Op]++
					for _, ev := range m.events {
						switch ev.Kind {
						case Filled:
							m.counts.fills++
						case Rejected:
							m.counts.rejects[ev.Reason]++
						}
					}
				}
			}
			if m.step == stepStream {
				m.step = stepHandler
				if m.logErr == nil && e.cfg.stream != nil {
					e.call(inStream, e.cfg.stream)
				}
			}
			if m.step == stepHandler {
				m.step = stepWaiter
				if r.h != nil {
					e.call(inHandler, r.h)
				}
			}
			if w := r.w; w != nil {
				w.events, w.seq, w.err = append(w.events[:0], m.res.Events...), m.res.Seq, m.res.Err
				w.done <- struct{}{}
			}
		}
		m.res = Result{}
		m.phase = phaseRecord
	}
	// phaseRecord
	clear(batch) // drop handler and waiter references
	m.n = 0      // a Goexit in telemetry moves on to the next batch
	m.in = inTelemetry
	e.inst.record(m.ctx, m.span, &m.counts, m.first, len(batch))
	m.span.End()
	m.in = inEngine
	m.ctx, m.span = nil, nil
}

// writeFrame appends the batch's commands to the log in one write, and
// syncs it if asked. A failure stops the engine for good: the log may now
// end in a torn frame, and nothing may follow it. A panic in the
// writer's Write or Sync is such a failure, with the *panics.Error as
// its cause; so is a Goexit (see goexited). The failure is in e.m.logErr
// before the error handler hears of it, so that a Goexit there cannot
// let the batch be matched.
func (e *Engine) writeFrame(batch []request) {
	frame := &e.m.frame
	frame.reset()
	for i := range batch {
		if batch[i].cmd.Op != opSnapshot {
			frame.buf, _ = batch[i].cmd.AppendBinary(frame.buf) // ops were checked by Send
		}
	}
	if frame.empty() {
		return
	}
	b := frame.finish()
	e.m.in = inLog
	n, err := writeLog(e.log, b, e.cfg.sync)
	e.m.in = inEngine
	if err != nil {
		le := &LogError{Offset: e.logOff, Err: err}
		e.failed.Store(le)
		e.m.logErr = le
		e.report(fmt.Errorf("orderbook: engine stopped matching: %w", le))
		return
	}
	e.logOff += int64(n)
}

// writeLog writes b to log, and syncs it if asked, under panics.Recover:
// a panic in the writer is returned as a *panics.Error.
func writeLog(log io.Writer, b []byte, sync bool) (n int, err error) {
	defer panics.Recover(&err)
	n, err = log.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil && sync {
		if s, ok := log.(interface{ Sync() error }); ok {
			err = s.Sync()
		}
	}
	return n, err
}

// call gives e.m.res to a handler under panics.Recover, so that a panic
// in it is reported to the error handler as an error wrapping the
// *panics.Error (with the stack) and matching goes on; see run for a
// Goexit.
func (e *Engine) call(in callee, h Handler) {
	e.m.in = in
	err := callHandler(h, e.m.res)
	e.m.in = inEngine
	if err != nil {
		what := "handler"
		if in == inStream {
			what = "event stream"
		}
		e.report(fmt.Errorf("orderbook: %s panicked on command %d: %w", what, e.m.res.Seq, err))
	}
}

func callHandler(h Handler, res Result) (err error) {
	defer panics.Recover(&err)
	h(res)
	return nil
}

// report gives err to the error handler, under panics.Recover too: if
// the error handler itself panics (or calls runtime.Goexit), both err and
// that go to otel.Handle instead, and matching goes on.
func (e *Engine) report(err error) {
	e.m.in, e.m.reporting = inErrorHandler, err
	perr := callErrorHandler(e.cfg.errorHandler, err)
	e.m.in, e.m.reporting = inEngine, nil
	if perr != nil {
		e.handleOtel(errors.Join(err, fmt.Errorf("orderbook: error handler panicked: %w", perr)))
	}
}

// handleOtel gives err to otel.Handle, the last resort. A panic there
// has nowhere to go and is dropped.
func (e *Engine) handleOtel(err error) {
	e.m.in = inOtelHandle
	_ = callErrorHandler(otel.Handle, err)
	e.m.in = inEngine
}

func callErrorHandler(f func(error), err error) (perr error) {
	defer panics.Recover(&perr)
	f(err)
	return nil
}
