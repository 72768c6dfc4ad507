package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/errs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func recorder(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return rec, tp.Tracer("test")
}

func TestTracedError(t *testing.T) {
	_, tracer := recorder(t)
	ctx, span := tracer.Start(context.Background(), "op")
	defer span.End()

	if errs.Wrap(ctx, "x", nil) != nil {
		t.Fatal("Wrap(nil) is not nil")
	}
	err := errs.Wrap(ctx, "file_missing", fmt.Errorf("open config: %w", fs.ErrNotExist))
	var te *errs.TracedError
	if !errors.As(err, &te) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.As/Is do not see through %v", err)
	}
	if te.TraceID != span.SpanContext().TraceID() || te.SpanID != span.SpanContext().SpanID() {
		t.Error("the IDs are not those of the span the error was made in")
	}
	if err.Error() != "file_missing: open config: file does not exist" || te.ErrorType() != "file_missing" {
		t.Errorf("Error() %q, ErrorType() %q", err.Error(), te.ErrorType())
	}
	// No code: the cause speaks.
	if got := errs.Wrap(ctx, "", io.EOF).(*errs.TracedError).ErrorType(); got != "*errors.errorString" {
		t.Errorf("ErrorType of an uncoded wrap of io.EOF = %q", got)
	}
	if got := errs.New(context.Background(), "timeout", "").Error(); got != "timeout: " {
		t.Errorf("New with an empty message: %q", got)
	}
	if got := (&errs.TracedError{Code: "only"}).Error(); got != "only" {
		t.Errorf("a code alone: %q", got)
	}
}

func TestErrorType(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{io.EOF, "*errors.errorString"},
		{&fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}, "*fs.PathError"},
		{fmt.Errorf("deep: %w", errs.New(context.Background(), "declined", "no")), "declined"},
		{errors.Join(io.EOF, errs.New(context.Background(), "second", "")), "second"},
	} {
		if got := errs.ErrorType(tt.err); got != tt.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRecord(t *testing.T) {
	rec, tracer := recorder(t)
	_, span := tracer.Start(context.Background(), "op")
	errs.Record(span, nil) // nothing
	errs.Record(span, errs.New(context.Background(), "declined", "card declined"))
	span.End()
	s := rec.Ended()[0]
	if s.Status().Code != codes.Error || s.Status().Description != "declined: card declined" {
		t.Errorf("status %+v", s.Status())
	}
	got := ""
	for _, kv := range s.Attributes() {
		if kv.Key == "error.type" {
			got = kv.Value.AsString()
		}
	}
	if got != "declined" || len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
		t.Errorf("error.type %q, events %v", got, s.Events())
	}
	errs.Record(trace.SpanFromContext(context.Background()), io.EOF) // a no-op span: no panic
}

func TestCollectorConcurrentSafe(t *testing.T) {
	var c errs.Collector
	if c.Err() != nil || c.Len() != 0 {
		t.Fatal("the zero Collector holds an error")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				c.Add(fmt.Errorf("g%d-%d", g, i))
				c.Add(nil)
			}
		})
	}
	wg.Wait()
	if c.Len() != 400 || len(errs.Split(c.Err())) != 400 {
		t.Fatalf("Len %d, split %d; want 400", c.Len(), len(errs.Split(c.Err())))
	}
}

func TestSplit(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	got := errs.Split(errors.Join(a, errors.Join(b, c), nil))
	if !slices.Equal(got, []error{a, b, c}) {
		t.Errorf("Split = %v", got)
	}
	if errs.Split(nil) != nil || len(errs.Split(a)) != 1 {
		t.Error("Split of nil or a single error")
	}
}

var errFlaky = errors.New("flaky")

// flaky fails n times, then returns "ok".
func flaky(n int, fail func(i int) error) func(context.Context) (string, error) {
	i := 0
	return func(context.Context) (string, error) {
		i++
		if i <= n {
			return "", fail(i)
		}
		return "ok", nil
	}
}

func TestRetrySucceedsAfterBackoff(t *testing.T) {
	clock, waits := time.Unix(0, 0), []time.Duration(nil)
	rec, tracer := recorder(t)
	ctx, span := tracer.Start(context.Background(), "caller")
	v, err := errs.Retry(ctx, flaky(4, func(int) error { return errFlaky }),
		errs.WithFakeTime(&clock, &waits), errs.WithMaxAttempts(6), errs.WithBackoff(100*time.Millisecond, 300*time.Millisecond))
	span.End()
	if v != "ok" || err != nil {
		t.Fatalf("Retry = %q, %v", v, err)
	}
	// Full jitter draws up to 100ms, 200ms, then the 300ms cap; the fake
	// jitter draws the ceiling.
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if ev := rec.Ended()[0].Events(); len(ev) != 4 || ev[0].Name != "retry.attempt" {
		t.Errorf("caller span events: %d, want 4 retry.attempt", len(ev))
	}
}

func TestRetryStops(t *testing.T) {
	errBad := errors.New("bad request")
	for _, tt := range []struct {
		name     string
		fail     func(i int) error
		opts     []errs.RetryOption
		attempts int
		stop     errs.Stop
		waited   time.Duration
	}{
		{"permanent", func(int) error { return errs.Permanent(errBad) }, nil, 1, "permanent error", 0},
		{"max attempts", func(int) error { return errFlaky }, []errs.RetryOption{errs.WithMaxAttempts(3)}, 3, "max attempts", 300 * time.Millisecond},
		{"max elapsed", func(int) error { return errFlaky },
			[]errs.RetryOption{errs.WithMaxAttempts(100), errs.WithMaxElapsed(time.Second)}, 4, "max elapsed", 700 * time.Millisecond},
		{"retry-after honoured", func(i int) error {
			if i == 1 {
				return errs.RetryAfter(errFlaky, 750*time.Millisecond)
			}
			return errs.Permanent(errBad)
		}, []errs.RetryOption{errs.WithMaxElapsed(time.Second)}, 2, "permanent error", 750 * time.Millisecond},
		{"retry-after beyond the budget", func(int) error { return errs.RetryAfter(errFlaky, 5*time.Second) },
			[]errs.RetryOption{errs.WithMaxElapsed(time.Second)}, 1, "retry-after beyond the budget", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock, waits := time.Unix(0, 0), []time.Duration(nil)
			_, err := errs.Retry(context.Background(), flaky(1_000, tt.fail), append(tt.opts, errs.WithFakeTime(&clock, &waits))...)
			var re *errs.RetryError
			if !errors.As(err, &re) || re.Attempts != tt.attempts || re.Stop != tt.stop || len(re.Errs) != tt.attempts {
				t.Fatalf("Retry = %v (%+v)", err, re)
			}
			var total time.Duration
			for _, w := range waits {
				total += w
			}
			if total != tt.waited || re.Elapsed != tt.waited {
				t.Errorf("waited %v (elapsed %v), want %v", total, re.Elapsed, tt.waited)
			}
			if !errors.Is(err, errFlaky) && !errors.Is(err, errBad) {
				t.Errorf("errors.Is does not reach the attempts' errors: %v", err)
			}
		})
	}
}

func TestRetryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock, waits := time.Unix(0, 0), []time.Duration(nil)
	_, err := errs.Retry(ctx, flaky(1_000, func(i int) error {
		if i == 2 {
			cancel()
		}
		return errFlaky
	}), errs.WithFakeTime(&clock, &waits))
	var re *errs.RetryError
	if !errors.As(err, &re) || re.Stop != "context done" || !errors.Is(err, context.Canceled) || re.Attempts != 2 {
		t.Fatalf("Retry after cancel = %v", err)
	}
	// A deadline closer than the next wait ends it without waiting.
	clock = time.Now()
	dctx, dcancel := context.WithDeadline(context.Background(), clock.Add(time.Minute))
	defer dcancel()
	_, err = errs.Retry(dctx, flaky(1_000, func(int) error { return errFlaky }),
		errs.WithFakeTime(&clock, &waits), errs.WithBackoff(time.Hour, time.Hour))
	if !errors.As(err, &re) || re.Stop != "context deadline" || re.Attempts != 1 || len(waits) != 1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Retry with a deadline nearer than the next wait = %v (waits %v)", err, waits)
	}
	// A cap at the largest duration does not overflow the jitter.
	if _, err := errs.Retry(context.Background(), flaky(1, func(int) error { return errFlaky }),
		errs.WithFakeTime(&clock, &waits), errs.WithBackoff(1<<62, 1<<63-1)); err != nil {
		t.Fatalf("Retry with a huge cap: %v", err)
	}
}

func TestRetryAttemptSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	clock, waits := time.Unix(0, 0), []time.Duration(nil)
	v, err := errs.Retry(context.Background(), flaky(2, func(int) error { return errFlaky }),
		errs.WithFakeTime(&clock, &waits), errs.WithAttemptSpans(true), errs.WithTracerProvider(tp))
	if err != nil || v != "ok" {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 3 || spans[0].Status().Code != codes.Error || spans[2].Status().Code == codes.Error {
		t.Fatalf("%d attempt spans", len(spans))
	}
}

func TestPermanentAndRetryAfterOfNil(t *testing.T) {
	if errs.Permanent(nil) != nil || errs.RetryAfter(nil, time.Second) != nil {
		t.Fatal("nil marked")
	}
	if errs.IsPermanent(errFlaky) || !errs.IsPermanent(fmt.Errorf("w: %w", errs.Permanent(errFlaky))) {
		t.Fatal("IsPermanent")
	}
	if d, ok := errs.RetryAfterOf(fmt.Errorf("w: %w", errs.RetryAfter(errFlaky, time.Second))); !ok || d != time.Second {
		t.Fatal("RetryAfterOf")
	}
}
