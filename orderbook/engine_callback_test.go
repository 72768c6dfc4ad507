package orderbook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/orderbook"
	"github.com/otlpgo/otlpgo/panics"
)

// errorLog is an error handler that keeps what it is given.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

func submit(id orderbook.OrderID) orderbook.Command {
	return orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: id, Side: orderbook.Buy, Kind: orderbook.Limit, Price: orderbook.Price(100 + id), Qty: 1}}
}

// TestEngineCallbackGoexitIsReported is the outside review's finding O1:
// a Handler, the event stream or the error handler that called
// runtime.Goexit (t.FailNow does) ended the matching goroutine, so every
// later Do hung and Shutdown never returned, with nothing reported. Now
// the Goexit is reported as an error wrapping panics.ErrGoexit (to
// otel.Handle if the error handler itself exited) and matching goes on
// exactly where it stopped: every other result of the batch is delivered
// in order, and the log holds every command once.
func TestEngineCallbackGoexitIsReported(t *testing.T) {
	for _, where := range []string{"handler", "stream", "error handler"} {
		t.Run(where, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			var handled errorLog
			prev := otel.GetErrorHandler()
			otel.SetErrorHandler(otel.ErrorHandlerFunc(handled.handle))
			t.Cleanup(func() { otel.SetErrorHandler(prev) })

			var reported errorLog
			var seen []uint64 // results in the order handlers saw them; written by the matching goroutine only
			opts := []orderbook.Option{orderbook.WithErrorHandler(reported.handle)}
			var exitOn uint64 = 2
			switch where {
			case "stream":
				opts = append(opts, orderbook.WithEventStream(func(r orderbook.Result) {
					if r.Seq == exitOn {
						runtime.Goexit()
					}
				}))
			case "error handler":
				opts[0] = orderbook.WithErrorHandler(func(err error) {
					reported.handle(err)
					runtime.Goexit()
				})
			}
			var log bytes.Buffer
			e, err := orderbook.NewEngine(&log, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// Hold the matching goroutine in command 1's handler until the
			// others are queued, so that they are matched in one batch with
			// the command whose callback exits.
			release := make(chan struct{})
			if err := e.Send(ctx, submit(1), func(r orderbook.Result) { <-release; seen = append(seen, r.Seq) }); err != nil {
				t.Fatal(err)
			}
			for id := orderbook.OrderID(2); id <= 5; id++ {
				h := func(r orderbook.Result) { seen = append(seen, r.Seq) }
				if uint64(id) == exitOn {
					switch where {
					case "handler":
						h = func(r orderbook.Result) { seen = append(seen, r.Seq); runtime.Goexit() }
					case "error handler":
						h = func(r orderbook.Result) { seen = append(seen, r.Seq); panic("boom") }
					}
				}
				if err := e.Send(ctx, submit(id), h); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if _, seq, err := e.Do(dctx, submit(6), nil); err != nil || seq != 6 {
				t.Fatalf("Do after a callback's Goexit: seq %d, %v", seq, err)
			}
			sctx, cancel2 := context.WithTimeout(ctx, 2*time.Second)
			defer cancel2()
			if err := e.Shutdown(sctx); err != nil {
				t.Fatalf("Shutdown after a callback's Goexit: %v", err)
			}
			if want := []uint64{1, 2, 3, 4, 5}; !equalSeqs(seen, want) {
				t.Errorf("handlers saw %v, want %v", seen, want)
			}
			switch errs := reported.all(); where {
			case "error handler":
				if len(errs) != 1 || !errors.As(errs[0], new(*panics.Error)) {
					t.Errorf("error handler got %v, want the handler's panic", errs)
				}
				if h := handled.all(); len(h) != 1 || !errors.Is(h[0], panics.ErrGoexit) || !errors.As(h[0], new(*panics.Error)) {
					t.Errorf("otel.Handle got %v, want the panic and the error handler's Goexit", h)
				}
			default:
				if len(errs) != 1 || !errors.Is(errs[0], panics.ErrGoexit) {
					t.Errorf("error handler got %v, want one error wrapping panics.ErrGoexit", errs)
				}
				if h := handled.all(); len(h) != 0 {
					t.Errorf("otel.Handle got %v", h)
				}
			}
			b, n, err := orderbook.Replay(&log)
			if err != nil || n != 6 {
				t.Fatalf("the log replays %d commands (%v), want 6", n, err)
			}
			if err := b.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEngineGoexitReproduction is O1 exactly as the reviewer wrote it.
func TestEngineGoexitReproduction(t *testing.T) {
	defer goleak.VerifyNone(t)
	var reported errorLog
	e, err := orderbook.NewEngine(&bytes.Buffer{}, orderbook.WithErrorHandler(reported.handle))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.Send(ctx, submit(1), func(orderbook.Result) { runtime.Goexit() }); err != nil {
		t.Fatal(err)
	}
	if _, seq, err := e.Do(ctx, submit(2), nil); err != nil || seq != 2 {
		t.Fatalf("Do: seq %d, %v", seq, err)
	}
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if errs := reported.all(); len(errs) != 1 || !errors.Is(errs[0], panics.ErrGoexit) {
		t.Fatalf("error handler got %v, want an error wrapping panics.ErrGoexit", errs)
	}
}

// misbehavingWriter accepts the log header and then panics, or calls
// runtime.Goexit, on the first frame.
type misbehavingWriter struct {
	bytes.Buffer
	goexit bool
}

func (w *misbehavingWriter) Write(p []byte) (int, error) {
	if w.Len() > 0 {
		if w.goexit {
			runtime.Goexit()
		}
		panic("writer exploded")
	}
	return w.Buffer.Write(p)
}

// TestEngineLogWriterPanicStopsMatching is the outside review's finding
// O3: a log io.Writer that panicked crashed the process, since the
// matching goroutine called it without recover. Now a panic (or a
// Goexit) in Write is a log write failure: a *LogError wrapping the
// *panics.Error (or panics.ErrGoexit), reported to the error handler and
// to every command it affects, and matching stops as for a write error.
func TestEngineLogWriterPanicStopsMatching(t *testing.T) {
	for _, goexit := range []bool{false, true} {
		name := "panic"
		if goexit {
			name = "goexit"
		}
		t.Run(name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			is := func(err error) bool {
				var le *orderbook.LogError
				if !errors.As(err, &le) || le.Offset != 13 {
					return false
				}
				if goexit {
					return errors.Is(err, panics.ErrGoexit)
				}
				var pe *panics.Error
				return errors.As(err, &pe) && pe.Value == "writer exploded"
			}
			var reported errorLog
			w := &misbehavingWriter{goexit: goexit}
			e, err := orderbook.NewEngine(w, orderbook.WithErrorHandler(reported.handle))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, _, err := e.Do(ctx, submit(1), nil); !is(err) {
				t.Fatalf("Do = %v, want a *LogError at byte 13 wrapping the writer's failure", err)
			}
			if err := e.Send(ctx, submit(2), nil); !is(err) {
				t.Fatalf("Send after it = %v", err)
			}
			if err := e.Shutdown(ctx); !is(err) {
				t.Fatalf("Shutdown = %v", err)
			}
			if errs := reported.all(); len(errs) != 1 || !is(errs[0]) {
				t.Fatalf("error handler got %v", errs)
			}
		})
	}
}

// panickingHeaderWriter panics on the header NewEngine writes.
type panickingHeaderWriter struct{}

func (panickingHeaderWriter) Write([]byte) (int, error) { panic("no header") }

func TestNewEngineWriterPanicIsLogError(t *testing.T) {
	_, err := orderbook.NewEngine(panickingHeaderWriter{})
	var le *orderbook.LogError
	var pe *panics.Error
	if !errors.As(err, &le) || !errors.As(err, &pe) || pe.Value != "no header" {
		t.Fatalf("NewEngine = %v, want a *LogError wrapping the *panics.Error", err)
	}
}

var _ io.Writer = (*misbehavingWriter)(nil)

// TestEngineErrorHandlerGoexitOnLogFailure: an error handler that exits
// while it is told of a log write failure must not let the batch whose
// frame failed be matched when matching resumes.
func TestEngineErrorHandlerGoexitOnLogFailure(t *testing.T) {
	defer goleak.VerifyNone(t)
	var handled errorLog
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(handled.handle))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	w := &failingWriter{limit: 13} // the header and nothing more
	e, err := orderbook.NewEngine(w, orderbook.WithErrorHandler(func(error) { runtime.Goexit() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var le *orderbook.LogError
	if _, seq, err := e.Do(ctx, submit(1), nil); !errors.As(err, &le) || !errors.Is(err, errDiskFull) || seq != 0 {
		t.Fatalf("Do = seq %d, %v; want the *LogError", seq, err)
	}
	if err := e.Shutdown(ctx); !errors.Is(err, errDiskFull) {
		t.Fatalf("Shutdown = %v", err)
	}
	if h := handled.all(); len(h) != 1 || !errors.Is(h[0], errDiskFull) || !errors.Is(h[0], panics.ErrGoexit) {
		t.Fatalf("otel.Handle got %v, want the log failure and the error handler's Goexit", h)
	}
}

// exitingTracerProvider's tracer calls runtime.Goexit in its first Start.
type exitingTracerProvider struct {
	noop.TracerProvider
	exited *atomic.Bool
}

func (p exitingTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return exitingTracer{exited: p.exited}
}

type exitingTracer struct {
	noop.Tracer
	exited *atomic.Bool
}

func (t exitingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t.exited.CompareAndSwap(false, true) {
		runtime.Goexit()
	}
	return t.Tracer.Start(ctx, name, opts...)
}

// TestEngineTelemetryGoexitIsReported: a TracerProvider is user code as
// well; a Goexit in it is reported and the batch is still carried out.
func TestEngineTelemetryGoexitIsReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	var reported errorLog
	var log bytes.Buffer
	e, err := orderbook.NewEngine(&log, orderbook.WithErrorHandler(reported.handle),
		orderbook.WithTracerProvider(exitingTracerProvider{exited: new(atomic.Bool)}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for id := orderbook.OrderID(1); id <= 2; id++ {
		if _, seq, err := e.Do(ctx, submit(id), nil); err != nil || seq != uint64(id) {
			t.Fatalf("Do %d: seq %d, %v", id, seq, err)
		}
	}
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if errs := reported.all(); len(errs) != 1 || !errors.Is(errs[0], panics.ErrGoexit) {
		t.Fatalf("error handler got %v", errs)
	}
	if _, n, err := orderbook.Replay(&log); err != nil || n != 2 {
		t.Fatalf("log replays %d commands, %v", n, err)
	}
}
