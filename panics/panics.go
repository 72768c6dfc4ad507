package panics

import (
	"errors"
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

// Error says what panicked. It is safe on a nil *Error.
func (e *Error) Error() string {
	if e == nil {
		return "panic: <nil *panics.Error>"
	}
	return fmt.Sprintf("panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As reach it (a panic(io.EOF) matches io.EOF). It is safe on a
// nil *Error.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	err, _ := e.Value.(error)
	return err
}

// ErrorType returns "panic", the value OpenTelemetry's error.type
// attribute takes for it.
func (e *Error) ErrorType() string { return "panic" }

// ErrGoexit is reported by [Guard] when its function called
// runtime.Goexit (t.FailNow or t.SkipNow in a test, for instance): the
// goroutine is ending and nothing can stop it, but its owner learns that
// the work it was doing did not finish.
var ErrGoexit = errors.New("panics: callback called runtime.Goexit")

// Try calls fn and returns its error; if fn panics, Try returns the panic
// as an *Error with the stack instead. A runtime.Goexit in fn (t.FailNow
// in a test) is not a panic and is not stopped: Try does not return, and
// the goroutine ends. Code that must learn of it uses [Guard].
func Try(fn func() error) (err error) {
	defer Recover(&err)
	return fn()
}

// Guard calls fn under [Try] and then report with the outcome: fn's
// error, the panic as an *Error, or [ErrGoexit] if fn called
// runtime.Goexit. report is called exactly once. After a Goexit it runs
// in a deferred call while the goroutine exits, the way
// golang.org/x/sync/singleflight detects it: the goroutine cannot be
// saved, so report must not block for long and must not call user code;
// it hands what the goroutine still had to do (a task to fail, a worker
// to replace) to its owner or to a new goroutine. Every goroutine this
// module starts runs its user code under Guard, so a Goexit never hangs
// the call that owns it, loses a result, or passes for success.
func Guard(fn func() error, report func(err error)) {
	returned := false
	defer func() {
		if !returned {
			report(ErrGoexit)
		}
	}()
	err := Try(fn)
	returned = true
	report(err)
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
// deferred function, because recover only works there. With a nil errp
// there is nowhere to put the panic, so Recover does not stop it: the
// panic goes on as if Recover had not been deferred.
func Recover(errp *error) {
	if errp == nil {
		return
	}
	if v := recover(); v != nil {
		*errp = &Error{Value: v, Stack: debug.Stack()}
	}
}
