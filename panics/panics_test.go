package panics_test

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/otlpgo/otlpgo/panics"
)

func TestTry(t *testing.T) {
	sentinel := errors.New("plain")
	tests := []struct {
		name      string
		fn        func() error
		wantPanic bool
		wantIs    error
	}{
		{"nil", func() error { return nil }, false, nil},
		{"error", func() error { return sentinel }, false, sentinel},
		{"panic string", func() error { panic("boom") }, true, nil},
		{"panic error", func() error { panic(io.EOF) }, true, io.EOF},
		{"panic nil", func() error { panic(nil) }, true, nil},
		{"index out of range", func() error { var s []int; _ = s[3]; return nil }, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := panics.Try(tt.fn)
			var pe *panics.Error
			if got := errors.As(err, &pe); got != tt.wantPanic {
				t.Fatalf("Try() = %v; is *panics.Error %v, want %v", err, got, tt.wantPanic)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Try() = %v, want errors.Is %v", err, tt.wantIs)
			}
			if tt.wantPanic {
				if len(pe.Stack) == 0 || !strings.Contains(string(pe.Stack), "panics_test") {
					t.Errorf("stack does not name the panicking function:\n%s", pe.Stack)
				}
				if pe.ErrorType() != "panic" || !strings.HasPrefix(pe.Error(), "panic: ") {
					t.Errorf("Error() = %q, ErrorType() = %q", pe.Error(), pe.ErrorType())
				}
			}
			if !tt.wantPanic && tt.wantIs == nil && err != nil {
				t.Errorf("Try() = %v, want nil", err)
			}
		})
	}
}

func TestTryPanicNil(t *testing.T) {
	err := panics.Try(func() error { panic(nil) })
	var pn *runtime.PanicNilError
	if !errors.As(err, &pn) {
		t.Fatalf("Try(panic(nil)) = %v, want a *runtime.PanicNilError inside", err)
	}
}

func TestRecoverReplacesError(t *testing.T) {
	f := func() (err error) {
		defer panics.Recover(&err)
		err = errors.New("set before the panic")
		panic("late")
	}
	var pe *panics.Error
	if err := f(); !errors.As(err, &pe) || pe.Value != "late" {
		t.Fatalf("f() = %v, want the panic", err)
	}
}

func TestRecoverNoPanicKeepsError(t *testing.T) {
	want := errors.New("kept")
	f := func() (err error) {
		defer panics.Recover(&err)
		return want
	}
	if err := f(); err != want {
		t.Fatalf("f() = %v, want %v", err, want)
	}
}

// TestGuard: every way fn can end reaches report exactly once, with the
// right error; a Goexit is reported as ErrGoexit before the goroutine
// ends.
func TestGuard(t *testing.T) {
	sentinel := errors.New("plain")
	tests := []struct {
		name  string
		fn    func() error
		check func(error) bool
	}{
		{"nil", func() error { return nil }, func(err error) bool { return err == nil }},
		{"error", func() error { return sentinel }, func(err error) bool { return err == sentinel }},
		{"panic", func() error { panic("boom") }, func(err error) bool { var pe *panics.Error; return errors.As(err, &pe) }},
		{"goexit", func() error { runtime.Goexit(); return nil }, func(err error) bool { return err == panics.ErrGoexit }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan error, 2)
			done := make(chan struct{})
			go func() {
				defer close(done)
				panics.Guard(tt.fn, func(err error) { got <- err })
			}()
			<-done
			close(got)
			var errsSeen []error
			for err := range got {
				errsSeen = append(errsSeen, err)
			}
			if len(errsSeen) != 1 || !tt.check(errsSeen[0]) {
				t.Fatalf("report got %v, want one matching error", errsSeen)
			}
		})
	}
}

// TestNilSafe: the nil cases a caller can produce do not crash in this
// package: a nil *Error's methods, and Recover(nil), which lets the panic
// go on unchanged instead of dereferencing nil.
func TestNilSafe(t *testing.T) {
	var e *panics.Error
	if got := e.Error(); !strings.Contains(got, "nil") {
		t.Errorf("nil *Error's Error() = %q", got)
	}
	if e.Unwrap() != nil {
		t.Error("nil *Error's Unwrap() != nil")
	}
	func() {
		defer panics.Recover(nil) // no panic: nothing happens
	}()
	err := panics.Try(func() error {
		defer panics.Recover(nil)
		panic("through")
	})
	var pe *panics.Error
	if !errors.As(err, &pe) || pe.Value != "through" {
		t.Fatalf("a panic under Recover(nil) = %v, want it to reach the outer Try unchanged", err)
	}
}
