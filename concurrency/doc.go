// Package concurrency holds the concurrent building blocks of a Go
// service, traced: a WorkerPool with backpressure, ordered batch results,
// fail-fast or collect-all errors and recovered panics; a Pipeline of
// typed stages, each with its own workers, cancelled end to end; FanOut
// and FanIn; and a TracedChannel whose values carry the span context they
// were sent in.
//
//	pool, err := concurrency.NewWorkerPool(8, fetchQuote)
//	quotes, err := pool.Run(ctx, symbols) // in order; the first error stops the rest
//	defer pool.Shutdown(ctx)
//
// Telemetry follows what it costs: a span per run or pipeline, metrics
// kept in atomics and read when collected, and a span per item only with
// WithItemSpans (a recorded span costs about 25 times a tiny task). Items
// are traced apart from their run: see # Traces.
// No goroutine outlives its owner: Shutdown, RunPipeline's return, or
// the end of the channels FanOut and FanIn return.
//
// # Traces
//
// A run, a pool's Run or a RunPipeline, may last as long as a service
// does and handle any number of items, so its span is never the parent
// of per-item work: a trace holding every item would grow without bound,
// and whether any item is sampled would hang on one coin toss for the
// whole run. As the messaging semantic conventions relate a batch to its
// messages, a run is related to its items by links, not as their parent:
//
//   - The run's span ("concurrency.pool.run", "concurrency.pipeline.run")
//     is a child of the caller's span: a run adds that one span to the
//     caller's trace, whatever the number of items.
//   - The ctx handed to per-item work (a Run's task function, a pipeline's
//     stage functions and sink) keeps the caller's values and the run's
//     cancellation, but not the run's span: spans the user starts there
//     are roots, one trace per item, each sampled on its own.
//   - With WithItemSpans, the library's own span for an item
//     ("concurrency.pool.task", "concurrency.pipeline.stage") is that root
//     (trace.WithNewRoot), with a link to the run's span, which leads
//     from the item to its run; a pipeline item's later stages are children
//     of its earlier ones, and its sink's ctx holds its last stage's span,
//     so that an item is one trace from its first stage to the sink.
//
// An item that comes with its own sender's context continues that
// sender's trace, as the conventions allow for processing one message:
// WorkerPool.Submit's task runs with the ctx given to Submit (with
// WithItemSpans its span is that ctx's span's child), and TracedChannel
// carries each value's send context to Receive, whose span (with
// WithItemSpans) is a child of the receiver's ctx linked to the send, as
// the conventions ask of a receive. To process a received value in its
// sender's trace, start the processing span from
// trace.ContextWithSpanContext(ctx, sc), linking ctx's span if there is
// one.
//
// # Panics
//
// Every function a user gives this package runs under package panics,
// and so does every goroutine it starts: a panic comes back as a
// *panics.Error with the stack, through the call that owns it, pond's
// choice rather than errgroup's (which crashes) or conc's (which
// re-panics). A pool's task panicking is its error in Run (a *TaskError)
// or in its Submit callback; a pipeline's source iterator, stage function
// or sink panicking fails RunPipeline with a *StageError naming
// "source", the stage or "sink"; a Submit callback panicking goes to the
// error handler (WithErrorHandler), and an error handler panicking is
// dropped. The telemetry around a task runs under panics too, since a
// TracerProvider or MeterProvider is the user's code: one that panics
// in a constructor, or starting a run's or a send's span, is that call's
// error; a panic ending or recording a span once the work is done is
// dropped. FanOut's and FanIn's goroutines run no user code: they only
// move values between channels.
//
// # Goexit
//
// A runtime.Goexit in a callback (t.FailNow in a test's fake) is not a
// panic and cannot be stopped, but every goroutine this package starts
// runs under panics.Guard, which detects it: the task, stage or source
// that called it fails with an error matching panics.ErrGoexit (a
// *TaskError in Run or the Submit callback, a *StageError in
// RunPipeline), a pool's worker whose goroutine ended is replaced by a
// new one that finishes its batch, so the pool keeps its workers, and
// no call hangs or returns success with a result missing. A Submit
// callback that calls Goexit is reported to the error handler, and an
// error handler that calls it is dropped, as one that panics.
//
// # Arguments
//
// Sizes and counts are checked against a stated bound before anything
// is allocated: workers in [1, 1<<20] (ErrInvalidWorkers), a pool's
// queue in [1, 1<<30], a TracedChannel's capacity in [0, 1<<20] and
// FanOut's outputs in [1, 1<<20] (ErrInvalidSize); a nil function is
// ErrNilFunc. A nil context.Context is a programmer error: every
// function taking one panics with "concurrency: nil Context" on the
// caller's goroutine, before starting anything, as context.WithCancel
// and errgroup.WithContext do with a nil parent.
//
// # What does not belong here
//
// Slice helpers (Map, ParallelMap over a slice you hold) belong to
// package fp; lock-free queues to package ringbuffer; retries to package
// errs. Unbounded goroutine spawning does not belong anywhere.
package concurrency
