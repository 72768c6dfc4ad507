package errs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/internal/version"
)

// Permanent marks err as not worth retrying: Retry stops at it. It
// returns nil for nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfter marks err with how long the other side asked to wait before
// trying again (an HTTP Retry-After, a gRPC RetryInfo). Retry waits that
// long instead of its own backoff, if it fits in what is left of its
// budget, and gives up at once if it does not. It returns nil for nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err, max(d, 0)}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfterOf returns the wait RetryAfter attached to err or an error it
// wraps.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// Stop is why Retry gave up. Callers compare it with the constants below
// (for example, to tell their own context ending from the operation
// failing); its value is also its description.
type Stop string

const (
	StopPermanent  Stop = "permanent error"               // the operation returned a Permanent error
	StopAttempts   Stop = "max attempts"                  // WithMaxAttempts was reached
	StopElapsed    Stop = "max elapsed"                   // the next wait would pass WithMaxElapsed
	StopContext    Stop = "context done"                  // ctx ended
	StopDeadline   Stop = "context deadline"              // the next wait would pass ctx's deadline
	StopRetryAfter Stop = "retry-after beyond the budget" // the wait asked for does not fit in what is left
)

// RetryError is what Retry returns when it gives up: every attempt's
// error in order, joined (errors.Is and errors.As look through all of
// them), why it stopped, and how long it took.
type RetryError struct {
	Attempts int
	Elapsed  time.Duration
	// Stop says why Retry gave up.
	Stop Stop
	// Errs holds each attempt's error in order, then the context's error
	// if it ended the retries (context.DeadlineExceeded for "context
	// deadline").
	Errs []error
}

// Error names the stop reason and the last error.
func (e *RetryError) Error() string {
	last := "no attempt"
	if n := len(e.Errs); n > 0 {
		last = e.Errs[n-1].Error()
	}
	return fmt.Sprintf("errs: gave up after %d attempts (%s): %s", e.Attempts, e.Stop, last)
}

// Unwrap returns every attempt's error, for errors.Is and errors.As.
func (e *RetryError) Unwrap() []error { return e.Errs }

// ErrorType returns the last attempt's error type.
func (e *RetryError) ErrorType() string {
	if n := len(e.Errs); n > 0 {
		return ErrorType(e.Errs[n-1])
	}
	return "errs.RetryError"
}

// RetryOption configures Retry. Options take values and the last one
// wins; a zero or nil argument keeps the default.
type RetryOption interface {
	apply(*retryConfig)
}

type retryOptionFunc func(*retryConfig)

func (f retryOptionFunc) apply(c *retryConfig) { f(c) }

type retryConfig struct {
	maxAttempts  int
	maxElapsed   time.Duration
	initial, cap time.Duration
	spans        bool
	tp           trace.TracerProvider
	// For tests: the clock, the wait and the jitter.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func(n int64) int64
}

// WithMaxAttempts sets how many times Retry calls the operation at most
// (default 5).
func WithMaxAttempts(n int) RetryOption {
	return retryOptionFunc(func(c *retryConfig) {
		if n > 0 {
			c.maxAttempts = n
		}
	})
}

// WithMaxElapsed bounds the time from the first attempt to the start of
// the last (default: no bound but the context's deadline). Retry does not
// start a wait that would end beyond it.
func WithMaxElapsed(d time.Duration) RetryOption {
	return retryOptionFunc(func(c *retryConfig) {
		if d > 0 {
			c.maxElapsed = d
		}
	})
}

// WithBackoff sets the first backoff and its cap (defaults 100ms and
// 10s). The wait before attempt n+1 is drawn uniformly from [0, min(cap,
// initial × 2^(n-1))]: exponential backoff with full jitter.
func WithBackoff(initial, cap time.Duration) RetryOption {
	return retryOptionFunc(func(c *retryConfig) {
		if initial > 0 {
			c.initial = initial
		}
		if cap > 0 {
			c.cap = cap
		}
	})
}

// WithAttemptSpans makes each attempt a child span ("retry attempt") of
// the caller's, instead of only an event on it.
func WithAttemptSpans(on bool) RetryOption {
	return retryOptionFunc(func(c *retryConfig) { c.spans = on })
}

// WithTracerProvider sets where attempt spans go (default
// otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) RetryOption {
	return retryOptionFunc(func(c *retryConfig) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// Retry calls op until it succeeds, returns a Permanent error, or the
// attempts, the elapsed time or ctx run out, waiting between attempts with
// exponential backoff and full jitter, or as long as a RetryAfter error
// asks. op receives ctx (or the attempt's span's context). Each attempt
// is an event on the caller's span ("retry.attempt": its number, error
// type and the wait that follows), or a child span with WithAttemptSpans.
// On giving up it returns the zero T and a *RetryError holding every
// attempt's error.
func Retry[T any](ctx context.Context, op func(ctx context.Context) (T, error), opts ...RetryOption) (T, error) {
	c := retryConfig{maxAttempts: 5, initial: 100 * time.Millisecond, cap: 10 * time.Second,
		now: time.Now, sleep: sleep, rand: rand.Int64N}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var zero T
	caller := trace.SpanFromContext(ctx)
	var tracer trace.Tracer
	if c.spans {
		if c.tp == nil {
			c.tp = otel.GetTracerProvider()
		}
		tracer = c.tp.Tracer("github.com/otlpgo/otlpgo/errs", trace.WithInstrumentationVersion(version.Version))
	}
	start := c.now()
	var errs []error
	giveUp := func(attempts int, stop Stop) (T, error) {
		return zero, &RetryError{Attempts: attempts, Elapsed: c.now().Sub(start), Stop: stop, Errs: errs}
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			return giveUp(attempt-1, StopContext)
		}
		actx := ctx
		var span trace.Span
		if c.spans {
			actx, span = tracer.Start(ctx, "retry attempt", trace.WithAttributes(attribute.Int("retry.attempt", attempt)))
		}
		v, err := op(actx)
		if span != nil {
			Record(span, err)
			span.End()
		}
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)

		stop, wait := Stop(""), time.Duration(0)
		asked, hasAsked := RetryAfterOf(err)
		switch {
		case IsPermanent(err):
			stop = StopPermanent
		case attempt >= c.maxAttempts:
			stop = StopAttempts
		case hasAsked:
			wait = asked
		default:
			ceiling := c.cap
			if shift := attempt - 1; shift < 62 && c.initial <= c.cap>>shift {
				ceiling = c.initial << shift
			}
			ceiling = min(ceiling, math.MaxInt64-1) // so that ceiling+1 fits
			wait = time.Duration(c.rand(int64(ceiling) + 1))
		}
		if stop == "" {
			now := c.now()
			deadline, hasDeadline := ctx.Deadline()
			pastElapsed := c.maxElapsed > 0 && now.Sub(start)+wait > c.maxElapsed
			pastDeadline := hasDeadline && now.Add(wait).After(deadline)
			switch {
			case (pastElapsed || pastDeadline) && hasAsked:
				stop = StopRetryAfter
			case pastElapsed:
				stop = StopElapsed
			case pastDeadline:
				// The next attempt would start after ctx's deadline: it would
				// end in context.DeadlineExceeded, so that is recorded.
				stop = StopDeadline
				errs = append(errs, context.DeadlineExceeded)
			}
		}
		if caller.IsRecording() {
			caller.AddEvent("retry.attempt", trace.WithAttributes(
				attribute.Int("retry.attempt", attempt),
				semconv.ErrorTypeKey.String(ErrorType(err)),
				attribute.String("exception.message", err.Error()),
				attribute.Int64("retry.wait_ms", wait.Milliseconds())))
		}
		if stop != "" {
			return giveUp(attempt, stop)
		}
		if err := c.sleep(ctx, wait); err != nil {
			errs = append(errs, err)
			return giveUp(attempt, StopContext)
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
