// Package errs makes errors carry what tracing needs: a code that becomes
// the error.type attribute, the trace and span they were made in, and a
// clear line between errors worth retrying and those that are not; and it
// retries an operation with exponential backoff and full jitter, each
// attempt visible in the trace.
//
//	err := errs.Wrap(ctx, "payment_declined", err) // *TracedError: code, cause, trace and span IDs
//	errs.Record(span, err)                         // status Error, error.type "payment_declined"
//
//	quote, err := errs.Retry(ctx, func(ctx context.Context) (Quote, error) {
//		q, err := client.Quote(ctx, symbol)
//		if isBadRequest(err) {
//			return q, errs.Permanent(err) // no point trying again
//		}
//		return q, err // a 429 may say when: errs.RetryAfter(err, d)
//	}, errs.WithMaxAttempts(5), errs.WithMaxElapsed(2*time.Second))
//
// A [TracedError] costs less to make than fmt.Errorf's wrapping (it does
// not format until Error is called, and captures no stack: a stack is what
// makes pkg/errors three times dearer). errors.Is and errors.As see
// through it; its ErrorType method is what OpenTelemetry's error.type
// reads. [Collector] gathers errors from many goroutines into one
// errors.Join.
//
// # What does not belong here
//
// Domain errors belong to their packages (orderbook's ErrCorruptLog,
// risk's ErrInvalidConfig); errs holds only what crosses packages: the
// traced wrapper, the retryable/permanent classification that saga and
// twopc use, and Retry. Logging does not belong here either.
package errs
