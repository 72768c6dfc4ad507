package concurrency

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/panics"
)

// StageError is a pipeline's error: the stage that failed, and why. Stage
// is the name given to NewStage, "source" for the iterator that feeds the
// pipeline, or "sink" for the function that takes its results. A panic in
// any of them is a StageError whose Err is a *panics.Error.
type StageError struct {
	Stage string
	Err   error
}

// Error names the stage and the cause.
func (e *StageError) Error() string { return fmt.Sprintf("stage %s: %v", e.Stage, e.Err) }

// Unwrap returns the cause.
func (e *StageError) Unwrap() error { return e.Err }

// Stage is a typed step of a pipeline: a function from In to Out run by a
// number of workers of its own. Join stages with Then and run them with
// RunPipeline. A Stage is a value; it starts nothing until run.
type Stage[In, Out any] struct {
	names []string
	start func(ctx context.Context, g *group, in <-chan item[In]) <-chan item[Out]
}

// item is a value on its way between stages. With item spans, sc is the
// span of the stage that made it, so that the next stage (and the sink)
// goes on with the item's trace; without, it is nil. (A pointer, not a
// SpanContext: 8 bytes per value on the channels instead of 64, which
// made a pipeline without item spans measurably slower.)
type item[T any] struct {
	v  T
	sc *trace.SpanContext
}

// NewStage returns a stage that runs fn on workers goroutines. A panic in
// fn fails the pipeline with a *panics.Error, and a runtime.Goexit in fn
// with panics.ErrGoexit, both in a *StageError naming the stage. It
// returns ErrInvalidWorkers for workers outside [1, 1<<20] and
// ErrNilFunc for a nil fn, with the zero Stage.
func NewStage[In, Out any](name string, workers int, fn func(context.Context, In) (Out, error)) (Stage[In, Out], error) {
	if workers < 1 || workers > maxWorkers {
		return Stage[In, Out]{}, fmt.Errorf("%w: stage %s: %d", ErrInvalidWorkers, name, workers)
	}
	if fn == nil {
		return Stage[In, Out]{}, fmt.Errorf("%w: stage %s", ErrNilFunc, name)
	}
	start := func(ctx context.Context, g *group, in <-chan item[In]) <-chan item[Out] {
		out := make(chan item[Out], workers)
		spans := g.stageSpans(name)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			g.goroutine(name, func() {
				defer wg.Done()
				for {
					var v item[In]
					select {
					case <-ctx.Done():
						return
					case x, ok := <-in:
						if !ok {
							return
						}
						v = x
					}
					r, err := runItem(ctx, spans, fn, v)
					if err != nil {
						g.fail(&StageError{Stage: name, Err: err})
						return
					}
					select {
					case out <- r:
					case <-ctx.Done():
						return
					}
				}
			})
		}
		g.goroutine(name, func() { wg.Wait(); close(out) })
		return out
	}
	return Stage[In, Out]{names: []string{name}, start: start}, nil
}

// Then joins two stages: the output of first feeds next, each stage with
// its own workers, connected by a channel. If either is the zero Stage
// (as NewStage returns with an error), so is the result, and RunPipeline
// returns ErrInvalidStage for it.
func Then[A, B, C any](first Stage[A, B], next Stage[B, C]) Stage[A, C] {
	if first.start == nil || next.start == nil {
		return Stage[A, C]{}
	}
	return Stage[A, C]{
		names: append(append([]string(nil), first.names...), next.names...),
		start: func(ctx context.Context, g *group, in <-chan item[A]) <-chan item[C] {
			return next.start(ctx, g, first.start(ctx, g, in))
		},
	}
}

// RunPipeline feeds every value of src through stage and hands each
// result to sink, on the calling goroutine, in the order results come out
// (with more than one worker, not the order of src). The first error, of
// a stage (a *StageError naming it), of sink or of ctx, cancels every
// stage, and RunPipeline returns it once every goroutine it started has
// ended. src runs on a goroutine of its own and must return once yield
// returns false (as any iterator must); RunPipeline waits for it. A
// panic in src, in a stage's function or in sink is recovered and
// returned as a *StageError ("source", the stage's name, "sink") wrapping
// a *panics.Error; a runtime.Goexit in src or in a stage's function
// (which ends only that goroutine) is a *StageError wrapping
// panics.ErrGoexit.
//
// One span covers the run ("concurrency.pipeline.run"), a child of ctx's
// span; a TracerProvider that panics starting it is RunPipeline's error,
// a *panics.Error, and nothing runs. The stage functions and sink do not
// run under it: the ctx they receive has ctx's values and the run's
// cancellation but no span, so the spans they start are roots, one trace
// (or more) per item, each sampled on its own. With WithItemSpans, each
// item gets a span per stage ("concurrency.pipeline.stage", with the
// concurrency.pipeline and concurrency.pipeline.stage attributes): its
// first stage's span is the root of the item's trace, linked to the run's
// span, each later stage's span is a child of the one before, and the
// ctx each stage function and the sink receive holds the item's span, so
// that every span the item causes is in its trace. See # Traces in the
// package doc.
func RunPipeline[In, Out any](ctx context.Context, src iter.Seq[In], stage Stage[In, Out], sink func(context.Context, Out) error, opts ...Option) error {
	mustContext(ctx)
	if stage.start == nil {
		return ErrInvalidStage
	}
	cfg := newConfig("pipeline", opts)
	tr, err := safeTracerOf(&cfg)
	if err != nil {
		return err
	}
	ctx, span, err := startSpan(ctx, tr, "concurrency.pipeline.run", trace.WithAttributes(
		attribute.String("concurrency.pipeline", cfg.name), attribute.StringSlice("concurrency.pipeline.stages", stage.names)))
	if err != nil {
		return err
	}
	defer endSpan(span)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &group{cancel: cancel, tracer: tr, name: cfg.name}
	if cfg.itemSpans {
		g.link = linkTo(spanContextOf(span))
	}
	// Stages and the sink work on one item at a time: they get the run's
	// values and cancellation but not its span (see # Traces).
	ictx := withoutSpan(ctx)
	in := make(chan item[In])
	g.goroutine("source", func() {
		defer close(in)
		for v := range src {
			select {
			case in <- item[In]{v: v}:
			case <-ctx.Done():
				return
			}
		}
	})
	for r := range stage.start(ictx, g, in) {
		if g.failed() {
			continue // drain, so that the stages can exit
		}
		sctx := ictx
		if r.sc != nil {
			sctx = trace.ContextWithSpanContext(ictx, *r.sc) // the item's trace
		}
		if err := protectSink(sctx, sink, r.v); err != nil {
			g.fail(&StageError{Stage: "sink", Err: err})
		}
	}
	g.wg.Wait()
	err = g.err
	if err == nil && ctx.Err() != nil {
		// The run cancels its context only on a failure, so with no error
		// recorded this cancellation is the caller's.
		err = context.Cause(ctx)
	}
	recordSpan(span, err)
	return err
}

// group tracks a run's goroutines and its first error. Each goroutine
// runs under panics.Guard: a panic or a runtime.Goexit in it fails the
// run, as a *StageError naming the stage (or "source"), instead of
// crashing the process or silently losing the goroutine.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	once   sync.Once
	mu     sync.Mutex
	err    error // guarded by mu until wg.Wait

	// Immutable after RunPipeline makes the group.
	tracer trace.Tracer
	name   string                // the pipeline's, for item spans
	link   trace.SpanStartOption // links an item's first span to the run's; nil: no item spans
}

// stageSpans is how one stage traces an item, decided once per stage.
type stageSpans struct {
	tracer trace.Tracer
	root   []trace.SpanStartOption // an item's first stage: a new trace linked to the run
	child  []trace.SpanStartOption // a later stage: a child of the previous stage's span
}

// stageSpans returns the stage's span options, or nil without item
// spans.
func (g *group) stageSpans(stage string) *stageSpans {
	if g.link == nil {
		return nil
	}
	attrs := trace.WithAttributes(attribute.String("concurrency.pipeline", g.name), attribute.String("concurrency.pipeline.stage", stage))
	return &stageSpans{
		tracer: g.tracer,
		root:   []trace.SpanStartOption{attrs, trace.WithNewRoot(), g.link},
		child:  []trace.SpanStartOption{attrs},
	}
}

// runItem runs fn on one item. With item spans, it does so under the
// item's span for this stage: the root of a new trace, linked to the
// run's span, if the item has none yet (the first stage), or a child of
// the span of the stage before. A TracerProvider that panics starting it
// is the stage's error, as a panic in fn; one that panics recording or
// ending it is dropped.
func runItem[In, Out any](ctx context.Context, spans *stageSpans, fn func(context.Context, In) (Out, error), x item[In]) (item[Out], error) {
	if spans == nil {
		out, err := protect(ctx, fn, x.v)
		return item[Out]{v: out}, err
	}
	opts := spans.root
	if x.sc != nil {
		ctx, opts = trace.ContextWithSpanContext(ctx, *x.sc), spans.child
	}
	ctx, span, err := startSpan(ctx, spans.tracer, "concurrency.pipeline.stage", opts...)
	if err != nil {
		return item[Out]{}, err
	}
	defer endSpan(span) // also if fn calls runtime.Goexit
	out, err := protect(ctx, fn, x.v)
	recordSpan(span, err)
	r := item[Out]{v: out}
	if sc := spanContextOf(span); sc.IsValid() {
		r.sc = &sc
	}
	return r, err
}

func (g *group) goroutine(stage string, f func()) {
	g.wg.Go(func() {
		panics.Guard(func() error { f(); return nil }, func(err error) {
			if err != nil {
				g.fail(&StageError{Stage: stage, Err: err})
			}
		})
	})
}

func (g *group) fail(err error) {
	g.once.Do(func() {
		g.mu.Lock()
		g.err = err
		g.mu.Unlock()
		g.cancel()
	})
}

func (g *group) failed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err != nil
}

// protect calls fn, turning a panic into a *panics.Error.
func protect[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), v In) (out Out, err error) {
	defer panics.Recover(&err)
	return fn(ctx, v)
}

// protectSink calls sink, turning a panic into a *panics.Error.
func protectSink[Out any](ctx context.Context, sink func(context.Context, Out) error, v Out) (err error) {
	defer panics.Recover(&err)
	return sink(ctx, v)
}

// FanOut spreads the values of in over n channels, each value to one of
// them (whichever's reader is ready), for n consumers that share work.
// Every output is closed once in is closed or ctx ends; read each until
// it is, so that FanOut's goroutines end. They run no user code, only
// receives from in and sends to the outputs, so they have no panic to
// recover. FanOut returns ErrInvalidSize, and starts nothing, for n
// outside [1, 1<<20]: n is the caller's count of consumers, and handing
// back another number of channels than asked would break the caller's
// indexing, so it is an error rather than a clamp. A nil ctx panics on
// the caller's goroutine ("concurrency: nil Context"), as
// context.WithCancel(nil) does.
func FanOut[T any](ctx context.Context, in <-chan T, n int) ([]<-chan T, error) {
	mustContext(ctx)
	if n < 1 || n > maxCapacity {
		return nil, fmt.Errorf("%w: FanOut to %d outputs, outside [1, %d]", ErrInvalidSize, n, maxCapacity)
	}
	outs := make([]<-chan T, n)
	for i := range outs {
		out := make(chan T)
		outs[i] = out
		go func() {
			defer close(out)
			forward(ctx, in, out)
		}()
	}
	return outs, nil
}

// FanIn merges channels into one, closed once every input is closed or
// ctx ends; read it until it is, so that FanIn's goroutines end. Like
// FanOut's, they run no user code. A nil ctx panics on the caller's
// goroutine, as for FanOut.
func FanIn[T any](ctx context.Context, ins ...<-chan T) <-chan T {
	mustContext(ctx)
	out := make(chan T)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() { forward(ctx, in, out) })
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// forward copies values from in to out until in is closed or ctx ends.
func forward[T any](ctx context.Context, in <-chan T, out chan<- T) {
	for {
		select {
		case v, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
