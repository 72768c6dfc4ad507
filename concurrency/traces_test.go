package concurrency_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/concurrency"
)

// The tests in this file check the package's trace shape (doc.go,
// # Traces): a run's span is never the parent of per-item work, so a run
// of N items is N item traces, each linked to the run, and the run's own
// trace does not grow with N.

// recorded is a TracerProvider that records every span, and what it
// recorded.
type recorded struct {
	tp  *sdktrace.TracerProvider
	rec *tracetest.SpanRecorder
}

func newRecorded(t *testing.T, opts ...sdktrace.TracerProviderOption) recorded {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(rec)}, opts...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return recorded{tp, rec}
}

// traces groups the ended spans by trace.
func (r recorded) traces() map[trace.TraceID][]sdktrace.ReadOnlySpan {
	m := map[trace.TraceID][]sdktrace.ReadOnlySpan{}
	for _, s := range r.rec.Ended() {
		m[s.SpanContext().TraceID()] = append(m[s.SpanContext().TraceID()], s)
	}
	return m
}

// named returns the ended spans called name.
func (r recorded) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// only returns the one ended span called name.
func (r recorded) only(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := r.named(name)
	if len(spans) != 1 {
		t.Fatalf("%d spans %q, want 1", len(spans), name)
	}
	return spans[0]
}

func linksTo(s sdktrace.ReadOnlySpan, to trace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == to.TraceID() && l.SpanContext.SpanID() == to.SpanID() {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// callerCtx is a caller's context: a span of its own, a value and a
// deadline, which per-item work must keep (all but the span).
func callerCtx(t *testing.T, tp trace.TracerProvider) (context.Context, trace.Span) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "kept"), time.Hour)
	t.Cleanup(cancel)
	return tp.Tracer("caller").Start(ctx, "caller")
}

// checkItemCtx fails unless ctx kept the caller's value and deadline.
func checkItemCtx(ctx context.Context, deadline time.Time) error {
	if ctx.Value(ctxKey{}) != "kept" {
		return fmt.Errorf("the caller's value is lost")
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		return fmt.Errorf("the caller's deadline is lost")
	}
	return nil
}

// TestRunTasksAreTracesOfTheirOwn: a Run of n tasks is n traces, one per
// task, each linked to the run's span (with item spans), and the run's
// trace is the caller's span and the run's whatever n is. Before, every
// task's spans were children of the run's span: one trace of n+2 spans
// or more.
func TestRunTasksAreTracesOfTheirOwn(t *testing.T) {
	for _, items := range []bool{false, true} {
		runTrace := map[int]int{}
		for _, n := range []int{10, 300} {
			t.Run(fmt.Sprintf("item-spans=%v/n=%d", items, n), func(t *testing.T) {
				r := newRecorded(t)
				ctx, caller := callerCtx(t, r.tp)
				deadline, _ := ctx.Deadline()
				tracer := r.tp.Tracer("user")
				p := newPool(t, 4, func(ctx context.Context, x int) (int, error) {
					_, span := tracer.Start(ctx, "work")
					span.End()
					return x, checkItemCtx(ctx, deadline)
				}, concurrency.WithTracerProvider(r.tp), concurrency.WithItemSpans(items))
				if _, err := p.Run(ctx, make([]int, n)); err != nil {
					t.Fatal(err)
				}
				caller.End()

				run := r.only(t, "concurrency.pool.run")
				if run.Parent().SpanID() != caller.SpanContext().SpanID() {
					t.Error("the run's span is not a child of the caller's")
				}
				traces := r.traces()
				runTrace[n] = len(traces[run.SpanContext().TraceID()])
				if runTrace[n] != 2 {
					t.Errorf("the run's trace has %d spans, want the caller's and the run's", runTrace[n])
				}
				if len(traces) != n+1 {
					t.Errorf("%d traces, want one per task and the run's", len(traces))
				}
				work := r.named("work")
				if len(work) != n {
					t.Fatalf("%d work spans, want %d", len(work), n)
				}
				for _, w := range work {
					id := w.SpanContext().TraceID()
					if id == run.SpanContext().TraceID() {
						t.Fatal("a task's span is in the run's trace")
					}
					if !items {
						if w.Parent().IsValid() || len(traces[id]) != 1 {
							t.Fatalf("without item spans a task's own span is a root alone in its trace; parent %v, %d spans", w.Parent(), len(traces[id]))
						}
						continue
					}
					if len(traces[id]) != 2 {
						t.Fatalf("a task's trace has %d spans, want its task span and its work", len(traces[id]))
					}
				}
				if !items {
					return
				}
				tasks := r.named("concurrency.pool.task")
				if len(tasks) != n {
					t.Fatalf("%d task spans, want %d", len(tasks), n)
				}
				for _, s := range tasks {
					if s.Parent().IsValid() || !linksTo(s, run.SpanContext()) {
						t.Fatalf("task span: parent %v, links %v; want a root linked to the run %v", s.Parent(), s.Links(), run.SpanContext())
					}
				}
			})
		}
		if runTrace[10] != runTrace[300] {
			t.Errorf("item spans %v: the run's trace grows with the tasks: %v", items, runTrace)
		}
	}
}

// TestRunTasksAreSampledOnTheirOwn: the run's span is not sampled, and
// every task is (its own root). Before, the tasks followed the run's
// unsampled span and none was recorded.
func TestRunTasksAreSampledOnTheirOwn(t *testing.T) {
	r := newRecorded(t, sdktrace.WithSampler(sdktrace.ParentBased(notNamed("concurrency.pool.run"))))
	p := newPool(t, 2, func(_ context.Context, x int) (int, error) { return x, nil },
		concurrency.WithTracerProvider(r.tp), concurrency.WithItemSpans(true))
	if _, err := p.Run(context.Background(), make([]int, 20)); err != nil {
		t.Fatal(err)
	}
	if n, m := len(r.named("concurrency.pool.task")), len(r.named("concurrency.pool.run")); n != 20 || m != 0 {
		t.Fatalf("%d task spans and %d run spans recorded, want 20 and 0", n, m)
	}
}

// notNamed samples every root span but those called name.
type notNamed string

func (n notNamed) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if p.Name == string(n) {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (n notNamed) Description() string { return "notNamed(" + string(n) + ")" }

// TestSubmitContinuesTheSubmittersTrace: a submitted task is one item
// sent by the caller: fn gets the caller's span, and the task's span (with
// item spans) is its child.
func TestSubmitContinuesTheSubmittersTrace(t *testing.T) {
	for _, items := range []bool{false, true} {
		t.Run(fmt.Sprintf("item-spans=%v", items), func(t *testing.T) {
			r := newRecorded(t)
			ctx, caller := callerCtx(t, r.tp)
			got := make(chan trace.SpanContext, 1)
			p := newPool(t, 1, func(ctx context.Context, x int) (int, error) {
				got <- trace.SpanContextFromContext(ctx)
				return x, nil
			}, concurrency.WithTracerProvider(r.tp), concurrency.WithItemSpans(items))
			done := make(chan error, 1)
			if err := p.Submit(ctx, 1, func(_ int, err error) { done <- err }); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			sc := <-got
			caller.End()
			if sc.TraceID() != caller.SpanContext().TraceID() {
				t.Fatal("the task left the submitter's trace")
			}
			if !items {
				if sc.SpanID() != caller.SpanContext().SpanID() {
					t.Error("fn did not get the submitter's span")
				}
				return
			}
			task := r.only(t, "concurrency.pool.task")
			if task.Parent().SpanID() != caller.SpanContext().SpanID() || sc.SpanID() != task.SpanContext().SpanID() {
				t.Errorf("the task's span is not the submitter's child, or fn is not under it")
			}
		})
	}
}

// TestPipelineItemsAreTracesOfTheirOwn: a pipeline of two stages over n
// items is n item traces. Without item spans, what the stage functions
// and the sink trace are roots; with them, an item's trace is its first
// stage's span (a root linked to the run), its second stage's span (a
// child of the first) and the sink's spans under that. The run's trace is
// the caller's span and the run's, whatever n is.
func TestPipelineItemsAreTracesOfTheirOwn(t *testing.T) {
	for _, items := range []bool{false, true} {
		runTrace := map[int]int{}
		for _, n := range []int{10, 300} {
			t.Run(fmt.Sprintf("item-spans=%v/n=%d", items, n), func(t *testing.T) {
				r := newRecorded(t)
				ctx, caller := callerCtx(t, r.tp)
				deadline, _ := ctx.Deadline()
				tracer := r.tp.Tracer("user")
				step := func(name string) func(context.Context, int) (int, error) {
					return func(ctx context.Context, x int) (int, error) {
						_, span := tracer.Start(ctx, name)
						span.End()
						return x, checkItemCtx(ctx, deadline)
					}
				}
				stages := concurrency.Then(mustStage(t, "first", 3, step("first work")), mustStage(t, "second", 2, step("second work")))
				err := concurrency.RunPipeline(ctx, count(n), stages, func(ctx context.Context, _ int) error {
					_, span := tracer.Start(ctx, "sink work")
					span.End()
					return checkItemCtx(ctx, deadline)
				}, concurrency.WithTracerProvider(r.tp), concurrency.WithItemSpans(items), concurrency.WithName("settle"))
				if err != nil {
					t.Fatal(err)
				}
				caller.End()

				run := r.only(t, "concurrency.pipeline.run")
				if run.Parent().SpanID() != caller.SpanContext().SpanID() {
					t.Error("the run's span is not a child of the caller's")
				}
				traces := r.traces()
				runTrace[n] = len(traces[run.SpanContext().TraceID()])
				if runTrace[n] != 2 {
					t.Errorf("the run's trace has %d spans, want the caller's and the run's", runTrace[n])
				}
				if !items {
					// Each user span is a root: 3 per item.
					if len(traces) != 3*n+1 {
						t.Errorf("%d traces, want %d", len(traces), 3*n+1)
					}
					for _, name := range []string{"first work", "second work", "sink work"} {
						for _, s := range r.named(name) {
							if s.Parent().IsValid() {
								t.Fatalf("%s is a child of %v, want a root", name, s.Parent())
							}
						}
					}
					return
				}
				if len(traces) != n+1 {
					t.Errorf("%d traces, want one per item and the run's", len(traces))
				}
				byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
				for _, s := range r.rec.Ended() {
					byID[s.SpanContext().SpanID()] = s
				}
				parentName := func(s sdktrace.ReadOnlySpan) string {
					if p, ok := byID[s.Parent().SpanID()]; ok && s.Parent().IsValid() {
						if v, ok := attr(p, "concurrency.pipeline.stage"); ok {
							return p.Name() + " " + v
						}
						return p.Name()
					}
					return ""
				}
				for id, spans := range traces {
					if id == run.SpanContext().TraceID() {
						continue
					}
					// first stage, first work, second stage, second work, sink work
					if len(spans) != 5 {
						t.Fatalf("an item's trace has %d spans, want 5", len(spans))
					}
					for _, s := range spans {
						stage, _ := attr(s, "concurrency.pipeline.stage")
						want := map[string]string{
							"concurrency.pipeline.stage first":  "",
							"concurrency.pipeline.stage second": "concurrency.pipeline.stage first",
							"first work":                        "concurrency.pipeline.stage first",
							"second work":                       "concurrency.pipeline.stage second",
							"sink work":                         "concurrency.pipeline.stage second",
						}
						key := s.Name()
						if stage != "" {
							key += " " + stage
						}
						if got := parentName(s); got != want[key] {
							t.Fatalf("%s: parent %q, want %q", key, got, want[key])
						}
						if stage == "first" && !linksTo(s, run.SpanContext()) {
							t.Fatalf("an item's first span does not link to the run")
						}
						if p, _ := attr(s, "concurrency.pipeline"); stage != "" && p != "settle" {
							t.Fatalf("stage span without its pipeline's name: %q", p)
						}
					}
				}
			})
		}
		if runTrace[10] != runTrace[300] {
			t.Errorf("item spans %v: the run's trace grows with the items: %v", items, runTrace)
		}
	}
}

// TestPipelineStageSpanRecordsTheError: a stage's error is on the item's
// span for that stage, as well as on the run's.
func TestPipelineStageSpanRecordsTheError(t *testing.T) {
	r := newRecorded(t)
	bad := mustStage(t, "reject", 1, func(_ context.Context, x int) (int, error) {
		if x == 3 {
			return 0, errOdd
		}
		return x, nil
	})
	err := concurrency.RunPipeline(context.Background(), count(10), bad, func(context.Context, int) error { return nil },
		concurrency.WithTracerProvider(r.tp), concurrency.WithItemSpans(true))
	if err == nil {
		t.Fatal("no error")
	}
	failed := 0
	for _, s := range r.named("concurrency.pipeline.stage") {
		if s.Status().Code.String() == "Error" {
			failed++
		}
	}
	if run := r.only(t, "concurrency.pipeline.run"); failed != 1 || run.Status().Code.String() != "Error" {
		t.Fatalf("%d failed stage spans, run status %v; want 1 and Error", failed, run.Status())
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.AsString(), true
		}
	}
	return "", false
}
