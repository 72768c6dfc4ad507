package saga_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/saga"
)

// A saga whose last step fails permanently is undone step by step, in
// reverse order.
func Example() {
	var done []string
	step := func(name string, fail bool) saga.Step {
		return saga.Step{
			Name: name,
			Action: func(_ context.Context, key string, _ []byte) error {
				if fail {
					return errs.Permanent(errors.New("insufficient margin"))
				}
				done = append(done, "do "+key)
				return nil
			},
			Compensate: func(_ context.Context, key string, _ []byte) error {
				done = append(done, "undo "+key)
				return nil
			},
		}
	}
	c, err := saga.New(saga.NewMemoryLog(), []saga.Definition{{Name: "settle", Steps: []saga.Step{
		step("reserve", false), step("transfer", false), step("confirm", true),
	}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	outcome, err := c.Run(context.Background(), "settle", "trade-7", nil)
	fmt.Println(outcome, err)
	for _, d := range done {
		fmt.Println(d)
	}
	// Output:
	// compensated saga settle trade-7: step confirm failed, compensated: errs: gave up after 1 attempts (permanent error): insufficient margin
	// do 6:settle/7:trade-7/7:reserve/do
	// do 6:settle/7:trade-7/8:transfer/do
	// undo 6:settle/7:trade-7/8:transfer/undo
	// undo 6:settle/7:trade-7/7:reserve/undo
}

// After a restart, Recover drives every saga the log holds to its end.
func ExampleCoordinator_Recover() {
	ctx := context.Background()
	log := saga.NewMemoryLog() // OpenBoltLog in production: it survives the crash
	def := saga.Definition{Name: "settle", Steps: []saga.Step{{
		Name:   "book",
		Action: func(context.Context, string, []byte) error { return nil },
	}}}
	c, err := saga.New(log, []saga.Definition{def})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := c.Recover(ctx)
	fmt.Println(n, err)
	// Output:
	// 0 <nil>
}

// A deploy removed a step while a saga was unfinished: Recover does not
// guess how to finish it with the new steps. It leaves the saga in the
// log and says why; listing the old definition too would let it finish.
func ExampleRecordError() {
	ctx := context.Background()
	log := saga.NewMemoryLog() // OpenBoltLog in production
	noop := func(context.Context, string, []byte) error { return nil }
	ctx1, stop := context.WithCancel(ctx)
	crash := true
	v1 := saga.Definition{Name: "settle", Steps: []saga.Step{
		{Name: "reserve", Action: noop},
		{Name: "transfer", Action: func(ctx context.Context, _ string, _ []byte) error {
			if crash { // the first time, the process stops here
				crash = false
				stop()
				return ctx.Err()
			}
			return nil
		}},
		{Name: "confirm", Action: noop},
	}}
	c1, _ := saga.New(log, []saga.Definition{v1})
	_, _ = c1.Run(ctx1, "settle", "trade-7", nil)

	v2 := saga.Definition{Name: "settle", Steps: []saga.Step{{Name: "reserve", Action: noop}, {Name: "confirm", Action: noop}}}
	c2, _ := saga.New(log, []saga.Definition{v2})
	n, err := c2.Recover(ctx)
	var re *saga.RecordError
	fmt.Println(n, errors.As(err, &re), re.ID, errors.Is(err, saga.ErrDefinitionChanged))
	recs, _ := log.Claim(ctx)
	fmt.Println(len(recs), "saga in the log")

	c3, _ := saga.New(log, []saga.Definition{v1, v2}) // the old version too
	fmt.Println(c3.Recover(ctx))
	recs, _ = log.Claim(ctx)
	fmt.Println(len(recs), "sagas in the log")
	// Output:
	// 0 true trade-7 true
	// 1 saga in the log
	// 1 <nil>
	// 0 sagas in the log
}
