package fp

import (
	"context"
	"iter"

	"github.com/otlpgo/otlpgo/panics"
)

// Map returns f applied to each element of s, in order, in a slice
// allocated once.
func Map[S ~[]T, T, U any](s S, f func(T) U) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// Filter returns the elements of s that keep reports true for, in order.
// The result is allocated once, with room for all of s.
func Filter[S ~[]T, T any](s S, keep func(T) bool) S {
	out := make(S, 0, len(s))
	for _, v := range s {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// Reduce folds s into an accumulator, from init, left to right.
func Reduce[S ~[]T, T, A any](s S, init A, f func(A, T) A) A {
	acc := init
	for _, v := range s {
		acc = f(acc, v)
	}
	return acc
}

// MapSeq returns a sequence of f applied to each value of seq, computed
// as it is consumed.
func MapSeq[T, U any](seq iter.Seq[T], f func(T) U) iter.Seq[U] {
	return func(yield func(U) bool) {
		for v := range seq {
			if !yield(f(v)) {
				return
			}
		}
	}
}

// FilterSeq returns a sequence of the values of seq that keep reports
// true for.
func FilterSeq[T any](seq iter.Seq[T], keep func(T) bool) iter.Seq[T] {
	return func(yield func(T) bool) {
		for v := range seq {
			if keep(v) && !yield(v) {
				return
			}
		}
	}
}

// ReduceSeq folds seq into an accumulator, from init.
func ReduceSeq[T, A any](seq iter.Seq[T], init A, f func(A, T) A) A {
	acc := init
	for v := range seq {
		acc = f(acc, v)
	}
	return acc
}

// checkEvery is how many elements the context-aware functions handle
// between looks at ctx: they stop within that many elements of a
// cancellation (f itself receives ctx and may stop sooner).
const checkEvery = 16

// canceled returns ctx's error if done is closed. A nil done (a context
// that is never cancelled) costs a comparison.
func canceled(ctx context.Context, done <-chan struct{}) error {
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return ctx.Err()
	default:
		return nil
	}
}

// MapContext is Map for a function that can fail: it stops at f's first
// error, or once ctx is cancelled, and returns the results so far with
// the error (the results of elements not reached are zero). A panic in f
// is such an error: a *panics.Error with the stack. A nil f is
// ErrNilFunc.
func MapContext[S ~[]T, T, U any](ctx context.Context, s S, f func(context.Context, T) (U, error)) (out []U, err error) {
	if f == nil {
		return nil, ErrNilFunc
	}
	defer panics.Recover(&err)
	out = make([]U, len(s))
	done := ctx.Done()
	for i, v := range s {
		if i%checkEvery == 0 {
			if err := canceled(ctx, done); err != nil {
				return out, err
			}
		}
		u, err := f(ctx, v)
		if err != nil {
			return out, err
		}
		out[i] = u
	}
	return out, nil
}

// FilterContext is Filter for a predicate that can fail: it stops at the
// first error, or once ctx is cancelled, returning what it kept so far. A
// panic in keep is such an error: a *panics.Error with the stack. A nil
// keep is ErrNilFunc.
func FilterContext[S ~[]T, T any](ctx context.Context, s S, keep func(context.Context, T) (bool, error)) (out S, err error) {
	if keep == nil {
		return nil, ErrNilFunc
	}
	defer panics.Recover(&err)
	out = make(S, 0, len(s))
	done := ctx.Done()
	for i, v := range s {
		if i%checkEvery == 0 {
			if err := canceled(ctx, done); err != nil {
				return out, err
			}
		}
		ok, err := keep(ctx, v)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// ReduceContext is Reduce for a step that can fail: it stops at the first
// error, or once ctx is cancelled, returning the accumulator so far. A
// panic in f is such an error: a *panics.Error with the stack. A nil f
// is ErrNilFunc.
func ReduceContext[S ~[]T, T, A any](ctx context.Context, s S, init A, f func(context.Context, A, T) (A, error)) (acc A, err error) {
	if f == nil {
		return init, ErrNilFunc
	}
	defer panics.Recover(&err)
	acc = init
	done := ctx.Done()
	for i, v := range s {
		if i%checkEvery == 0 {
			if err := canceled(ctx, done); err != nil {
				return acc, err
			}
		}
		next, err := f(ctx, acc, v)
		if err != nil {
			return acc, err
		}
		acc = next
	}
	return acc, nil
}
