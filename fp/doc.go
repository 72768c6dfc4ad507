// Package fp holds the functional helpers Go services keep writing by
// hand: Map, Filter and Reduce over slices and iter.Seq, context-aware
// variants that stop on cancellation and return errors, ParallelMap with
// a bound and ordered results, and Result and Option values that convert
// to and from (T, error) and (T, bool).
//
// Outputs are sized once: Map allocates its result and nothing per
// element, so it costs what the loop it replaces costs (BenchmarkMap).
//
//	names := fp.Map(users, func(u User) string { return u.Name })
//	adults := fp.Filter(users, func(u User) bool { return u.Age >= 18 })
//	total := fp.Reduce(orders, 0, func(sum int64, o Order) int64 { return sum + o.Cents })
//	prices, err := fp.ParallelMap(ctx, symbols, 8, fetchPrice) // 8 at a time, results in order
//
// # Panics
//
// The functions that return an error return a panic in their callback as
// that error, a *panics.Error with the stack (errors.As):
// ParallelMap, whose goroutines run wholly under package panics and all
// end before it returns, and MapContext, FilterContext and
// ReduceContext. Map, Filter, Reduce and the Seq functions have no error
// to return and run on the caller's goroutine, so a panic in their
// callback reaches the caller as from the loop they replace.
//
// A runtime.Goexit in a callback (t.FailNow in a fake) is not a panic and
// cannot be stopped. On the caller's goroutine it ends the caller, as in
// the loop it replaces. On one of ParallelMap's goroutines it is detected
// (panics.Guard) and fails ParallelMap with an error matching
// panics.ErrGoexit that names the element: never a hang, never a zero
// result passed off as success.
//
// # What does not belong here
//
// Worker pools, pipelines and channels with telemetry belong to package
// concurrency; ParallelMap is for a bounded fan-out over a slice you
// already hold. Lazy evaluation chains, monads and currying do not belong
// anywhere in a Go service.
package fp
