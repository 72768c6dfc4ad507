package fp

// Result is a value or an error, for when a (T, error) pair must travel
// as one value: through a channel, into a slice of outcomes. The zero
// Result is Ok with the zero T.
type Result[T any] struct {
	val T
	err error
}

// Ok returns a successful Result holding v.
func Ok[T any](v T) Result[T] { return Result[T]{val: v} }

// Fail returns a failed Result holding err (a nil err makes an Ok
// Result with the zero T).
func Fail[T any](err error) Result[T] { return Result[T]{err: err} }

// Try returns a Result from a (T, error) pair.
func Try[T any](v T, err error) Result[T] { return Result[T]{val: v, err: err} }

// Get returns the pair the Result holds.
func (r Result[T]) Get() (T, error) { return r.val, r.err }

// Err returns the error, or nil for an Ok Result.
func (r Result[T]) Err() error { return r.err }

// IsOk reports whether the Result holds no error.
func (r Result[T]) IsOk() bool { return r.err == nil }

// Or returns the value of an Ok Result, or def for a failed one.
func (r Result[T]) Or(def T) T {
	if r.err != nil {
		return def
	}
	return r.val
}

// Option is a value that may be absent, for when a (T, bool) pair must
// travel as one value. The zero Option is None.
type Option[T any] struct {
	val T
	ok  bool
}

// Some returns an Option holding v.
func Some[T any](v T) Option[T] { return Option[T]{val: v, ok: true} }

// None returns an empty Option.
func None[T any]() Option[T] { return Option[T]{} }

// OptionOf returns an Option from a (T, bool) pair, such as a map lookup.
func OptionOf[T any](v T, ok bool) Option[T] {
	if !ok {
		return Option[T]{}
	}
	return Option[T]{val: v, ok: true}
}

// Get returns the pair the Option holds.
func (o Option[T]) Get() (T, bool) { return o.val, o.ok }

// IsSome reports whether the Option holds a value.
func (o Option[T]) IsSome() bool { return o.ok }

// Or returns the value, or def if there is none.
func (o Option[T]) Or(def T) T {
	if !o.ok {
		return def
	}
	return o.val
}
