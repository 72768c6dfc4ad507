// Package panics turns a recovered panic into an error a caller can match:
// [Error] holds the panic value and the stack of the goroutine that
// panicked, and [Try] and [Recover] are the one recover helper that every
// goroutine this library starts and every callback it calls runs under.
//
//	err := panics.Try(func() error { return userCallback(ctx) })
//	var pe *panics.Error
//	if errors.As(err, &pe) {
//		log.Printf("callback panicked: %v\n%s", pe.Value, pe.Stack)
//	}
//
// # Goexit
//
// runtime.Goexit (t.FailNow in a test's fake) is not a panic: nothing
// recovers it and the goroutine that calls it ends. [Try] does not stop
// it. [Guard] detects it, with a flag set once its function returned and
// checked in a deferred call, and reports [ErrGoexit] to the goroutine's
// owner, which fails the work the goroutine held (a task, a stage, a
// prepare, a commit) and replaces the goroutine where it needs a fixed
// number of them. No call of this module hangs or reports success
// because a callback called Goexit.
//
// It is a leaf: it imports only the standard library, so package fp and
// ringbuffer stay free of OpenTelemetry.
//
// # What does not belong here
//
// Logging, re-panicking and crash reporting belong to the application. A
// panic is a bug; this package only makes sure that a bug in one callback
// comes back through the call that owns it instead of killing the process.
package panics
