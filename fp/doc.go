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
// # What does not belong here
//
// Worker pools, pipelines and channels with telemetry belong to package
// concurrency; ParallelMap is for a bounded fan-out over a slice you
// already hold. Lazy evaluation chains, monads and currying do not belong
// anywhere in a Go service.
package fp
