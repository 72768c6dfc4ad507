package panics_test

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/otlpgo/otlpgo/panics"
)

func Example() {
	callback := func() error {
		var m map[string]int
		m["x"] = 1 // a bug in user code
		return nil
	}
	err := panics.Try(callback)
	var pe *panics.Error
	fmt.Println(errors.As(err, &pe))
	fmt.Println(err)
	// Output:
	// true
	// panic: assignment to entry in nil map
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
