package errs

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracedError is an error with a code, its cause, and the trace and span
// it was made in. Code is a short, low-cardinality name for the kind of
// failure ("timeout", "payment_declined"): it becomes the error.type
// attribute, so keep values out of it. A TracedError is immutable.
type TracedError struct {
	Code    string
	Err     error // the cause; may be nil
	TraceID trace.TraceID
	SpanID  trace.SpanID
}

// Wrap returns err with a code and the trace and span of ctx, or nil if err
// is nil. It costs one allocation and formats nothing until Error is
// called.
func Wrap(ctx context.Context, code string, err error) error {
	if err == nil {
		return nil
	}
	sc := trace.SpanContextFromContext(ctx)
	return &TracedError{Code: code, Err: err, TraceID: sc.TraceID(), SpanID: sc.SpanID()}
}

// New returns a TracedError with a code and a message, made in ctx.
func New(ctx context.Context, code, message string) error {
	return Wrap(ctx, code, errors.New(message))
}

// Error returns "code: cause", or the code alone without a cause.
func (e *TracedError) Error() string {
	switch {
	case e.Err == nil:
		return e.Code
	case e.Code == "":
		return e.Err.Error()
	}
	return e.Code + ": " + e.Err.Error()
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *TracedError) Unwrap() error { return e.Err }

// ErrorType returns the code, or the cause's error type when the code is
// empty: the value OpenTelemetry's error.type attribute takes.
func (e *TracedError) ErrorType() string {
	if e.Code != "" {
		return e.Code
	}
	return ErrorType(e.Err)
}

// ErrorType returns the value of the error.type attribute for err, per
// the semantic conventions: the ErrorType() of the first error in its
// chain that has one (TracedError, risk.RejectError and others), else
// its Go type, such as "*net.OpError"; "" for nil.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	var typed interface{ ErrorType() string }
	if errors.As(err, &typed) {
		if t := typed.ErrorType(); t != "" {
			return t
		}
	}
	return typeName(err)
}

var typeNames sync.Map // reflect.Type → string

// typeName is err's Go type as reflect prints it, cached.
func typeName(err error) string {
	t := reflect.TypeOf(err)
	if n, ok := typeNames.Load(t); ok {
		return n.(string)
	}
	n := t.String()
	typeNames.Store(t, n)
	return n
}

// Record marks span as failed with err: it records err as an exception
// event, sets the status to Error with err's message, and sets error.type
// to ErrorType(err). A nil err or a span that is not recording costs
// nothing.
func Record(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)))
}

// Collector gathers errors, from any number of goroutines, into one
// errors.Join. The zero Collector is ready to use; it must not be copied
// after first use.
type Collector struct {
	mu   sync.Mutex
	errs []error // guarded by mu
}

// Add keeps err; a nil err is ignored.
func (c *Collector) Add(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

// Len returns how many errors were added.
func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.errs)
}

// Err returns the errors added so far joined with errors.Join, in the
// order they were added, or nil if there are none.
func (c *Collector) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// Split returns the errors a joined error holds (anything with an
// Unwrap() []error method, such as errors.Join's result), flattened
// depth first; a single error is returned alone, nil as none.
func Split(err error) []error {
	if err == nil {
		return nil
	}
	multi, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range multi.Unwrap() {
		out = append(out, Split(e)...)
	}
	return out
}
