package panics

import (
	"fmt"
	"runtime/debug"
)

// Error is a panic recovered by [Try] or [Recover] and returned as an
// error: the panic value and the stack of the goroutine that panicked.
// Every package of this module that recovers a panic returns it as an
// *Error, so errors.As finds it whichever call returned it.
type Error struct {
	// Value is what was passed to panic. A panic(nil) arrives as a
	// *runtime.PanicNilError, as recover returns it.
	Value any
	// Stack is the panicking goroutine's stack, as debug.Stack formats it.
	Stack []byte
}

// Error says what panicked.
func (e *Error) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As reach it (a panic(io.EOF) matches io.EOF).
func (e *Error) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ErrorType returns "panic", the value OpenTelemetry's error.type
// attribute takes for it.
func (e *Error) ErrorType() string { return "panic" }

// Try calls fn and returns its error; if fn panics, Try returns the panic
// as an *Error with the stack instead. A runtime.Goexit in fn (t.FailNow
// in a test) is not a panic and is not stopped.
func Try(fn func() error) (err error) {
	defer Recover(&err)
	return fn()
}

// Recover, deferred directly, turns a panic of the deferring function into
// an *Error stored in *errp, replacing whatever *errp held:
//
//	func (x *T) call() (err error) {
//		defer panics.Recover(&err)
//		return x.userCallback()
//	}
//
// It does nothing when there is no panic. It must be the deferred call
// itself (defer panics.Recover(&err)), not called from inside another
// deferred function, because recover only works there.
func Recover(errp *error) {
	if v := recover(); v != nil {
		*errp = &Error{Value: v, Stack: debug.Stack()}
	}
}
