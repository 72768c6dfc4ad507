package fp

import "errors"

// ErrNilFunc is returned by ParallelMap, MapContext, FilterContext and
// ReduceContext when their function is nil, before any element is
// looked at. Map, Filter, Reduce and the Seq functions have no error to
// return: a nil function panics on the caller's goroutine there, as the
// loop they replace would.
var ErrNilFunc = errors.New("fp: nil function")
