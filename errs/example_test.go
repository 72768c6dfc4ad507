package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otlpgo/otlpgo/errs"
)

// An error made in a span carries a code for error.type, and Record puts
// it on the span.
func Example() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("example").Start(context.Background(), "load config")

	err := errs.Wrap(ctx, "config_missing", fmt.Errorf("open app.yaml: %w", fs.ErrNotExist))
	errs.Record(span, err)
	span.End()

	fmt.Println(err)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	s := rec.Ended()[0]
	fmt.Println(s.Status().Code, s.Attributes()[0].Key, s.Attributes()[0].Value.AsString())
	// Output:
	// config_missing: open app.yaml: file does not exist
	// true
	// Error error.type config_missing
}

// errors.As finds the TracedError, with the trace it was made in.
func ExampleTracedError() {
	err := fmt.Errorf("placing order: %w", errs.New(context.Background(), "insufficient_funds", "balance 12.00 < 40.00"))
	var te *errs.TracedError
	if errors.As(err, &te) {
		fmt.Println(te.Code, te.TraceID.IsValid()) // no span in this context
	}
	fmt.Println(errs.ErrorType(err))
	// Output:
	// insufficient_funds false
	// insufficient_funds
}

// Retry retries what may succeed and stops at what cannot; when it gives
// up, its error holds every attempt's.
func ExampleRetry() {
	ctx := context.Background()
	calls := 0
	quote, err := errs.Retry(ctx, func(ctx context.Context) (int, error) {
		calls++
		if calls < 3 {
			return 0, errors.New("503 unavailable")
		}
		return 101, nil
	}, errs.WithBackoff(time.Millisecond, 5*time.Millisecond))
	fmt.Println(quote, err, calls)

	errBadSymbol := errors.New("400 unknown symbol")
	_, err = errs.Retry(ctx, func(ctx context.Context) (int, error) {
		return 0, errs.Permanent(errBadSymbol)
	})
	var re *errs.RetryError
	fmt.Println(errors.As(err, &re), re.Attempts, re.Stop, errors.Is(err, errBadSymbol))
	// Output:
	// 101 <nil> 3
	// true 1 permanent error true
}

// A Collector gathers errors from several goroutines into one.
func ExampleCollector() {
	var c errs.Collector
	done := make(chan struct{})
	for _, name := range []string{"a.csv", "b.csv"} {
		go func() {
			c.Add(fmt.Errorf("import %s: %w", name, fs.ErrPermission))
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	err := c.Err()
	fmt.Println(c.Len(), errors.Is(err, fs.ErrPermission), len(errs.Split(err)))
	// Output:
	// 2 true 2
}
