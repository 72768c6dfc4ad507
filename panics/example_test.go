package panics_test

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/otlpgo/otlpgo/panics"
)

func Example() {
	prices := map[string]*int64{"AAPL": nil}
	callback := func() error {
		fmt.Println(*prices["AAPL"]) // a bug in user code: a nil pointer
		return nil
	}
	err := panics.Try(callback)
	var pe *panics.Error
	fmt.Println(errors.As(err, &pe))
	fmt.Println(err)
	// Output:
	// true
	// panic: runtime error: invalid memory address or nil pointer dereference
}

func ExampleRecover() {
	run := func() (err error) {
		defer panics.Recover(&err)
		panic("step 3 failed")
	}
	fmt.Println(run())
	// Output:
	// panic: step 3 failed
}

func ExampleGuard() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		panics.Guard(func() error {
			runtime.Goexit() // t.FailNow in a fake, say
			return nil
		}, func(err error) {
			fmt.Println(err, errors.Is(err, panics.ErrGoexit))
		})
	}()
	<-done
	// Output:
	// panics: callback called runtime.Goexit true
}
