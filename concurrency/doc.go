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
// WithItemSpans (a recorded span costs about 25 times a tiny task).
// No goroutine outlives its owner: Shutdown, RunPipeline's return, or
// the end of the channels FanOut and FanIn return.
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
// TracerProvider or MeterProvider is the user's code. FanOut's and
// FanIn's goroutines run no user code: they only move values between
// channels.
//
// # What does not belong here
//
// Slice helpers (Map, ParallelMap over a slice you hold) belong to
// package fp; lock-free queues to package ringbuffer; retries to package
// errs. Unbounded goroutine spawning does not belong anywhere.
package concurrency
