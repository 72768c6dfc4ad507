package twopc_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/internal/hangcheck"

	"go.opentelemetry.io/otel/metric"
	mnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tnoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/panics"
	"github.com/otlpgo/otlpgo/twopc"
)

// goexiter is a participant and resource that calls runtime.Goexit (as
// t.FailNow in a fake would) in the one method named by at.
type goexiter struct {
	*fake
	at string
}

func (g *goexiter) Prepare(ctx context.Context, id string) error {
	if g.at == "Prepare" {
		runtime.Goexit()
	}
	return g.fake.Prepare(ctx, id)
}

func (g *goexiter) Commit(ctx context.Context, id string) error {
	if g.at == "Commit" {
		runtime.Goexit()
	}
	return g.fake.Commit(ctx, id)
}

func (g *goexiter) Abort(ctx context.Context, id string) error {
	if g.at == "Abort" {
		runtime.Goexit()
	}
	return g.fake.Abort(ctx, id)
}

// TestCallbackGoexitFailsTheCall makes each participant method the
// coordinator calls on a goroutine of its own call runtime.Goexit in
// turn. Before, a Goexit in Prepare counted as prepared (Run committed b,
// which never prepared) and one in Commit counted as acknowledged (Run
// returned Committed and deleted the record). Now a Goexit in Prepare
// aborts, and one in Commit or Abort leaves the transaction in doubt, in
// the log, with an error matching panics.ErrGoexit; Recover finishes it.
func TestCallbackGoexitFailsTheCall(t *testing.T) {
	for _, tt := range []struct {
		at      string
		failA   bool // a fails to prepare, so the transaction aborts
		want    twopc.Outcome
		inDoubt bool
	}{
		{at: "Prepare", want: twopc.Aborted},
		{at: "Commit", inDoubt: true},
		{at: "Abort", failA: true, inDoubt: true},
	} {
		t.Run(tt.at, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx := context.Background()
			mem := twopc.NewMemoryLog()
			a := newFake("a")
			if tt.failA {
				a.failPrepare = errNoFunds
			}
			b := &goexiter{fake: newFake("b"), at: tt.at}
			c, err := twopc.New(mem, map[string]twopc.Resource{"a": a, "b": b},
				twopc.WithBackoff(time.Microsecond, time.Microsecond), twopc.WithRetryBudget(3, time.Second))
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				out twopc.Outcome
				err error
			}
			r := hangcheck.Within(t, 10*time.Second, "Run", func() result { out, err := c.Run(ctx, "tx", a, b); return result{out, err} })
			if r.out != tt.want || !errors.Is(r.err, panics.ErrGoexit) || errors.Is(r.err, twopc.ErrInDoubt) != tt.inDoubt {
				t.Fatalf("Run = %v, %v; want %v, panics.ErrGoexit, in doubt %v", r.out, r.err, tt.want, tt.inDoubt)
			}
			if b.committed["tx"] || (tt.at == "Prepare" && a.committed["tx"]) {
				t.Fatalf("committed a %v, b %v after a failed prepare", a.committed["tx"], b.committed["tx"])
			}
			recs, err := mem.Claim(ctx)
			if err != nil || (len(recs) == 1) != tt.inDoubt {
				t.Fatalf("%d records left (%v); want left: %v", len(recs), err, tt.inDoubt)
			}
			b.at = ""
			if n, err := c.Recover(ctx); err != nil || (n == 1) != tt.inDoubt {
				t.Fatalf("Recover = %d, %v", n, err)
			}
		})
	}
}

// TestRunRejectsBadArgumentsBeforeLogging: every bad argument of Run
// is a typed error, with nothing logged and no participant called.
// Before, duplicate names prepared and committed one Resource twice at
// once, zero participants committed nothing, and an ended ctx wrote a
// record, called Prepare and returned an *InDoubtError.
func TestRunRejectsBadArgumentsBeforeLogging(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	a, b := newFake("a"), newFake("b")
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		parts []twopc.Participant
		want  error
	}{
		{"duplicate", context.Background(), []twopc.Participant{a, b, a}, twopc.ErrDuplicateParticipant},
		{"none", context.Background(), nil, twopc.ErrNoParticipants},
		{"ctx ended", cancelled, []twopc.Participant{a, b}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := twopc.NewMemoryLog()
			c := coordinator(t, mem, a, b)
			out, err := c.Run(tt.ctx, "tx", tt.parts...)
			if out != 0 || !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, %v; want 0, %v", out, err, tt.want)
			}
			if recs, err := mem.Claim(context.Background()); err != nil || len(recs) != 0 {
				t.Fatalf("%d records logged (%v)", len(recs), err)
			}
			if len(a.prepared)+len(b.prepared) != 0 {
				t.Fatalf("prepared %v %v", a.prepared, b.prepared)
			}
		})
	}
}

// TestNewCopiesResources: a change to the map given to New after New
// does not reach the coordinator.
func TestNewCopiesResources(t *testing.T) {
	a := newFake("a")
	res := map[string]twopc.Resource{"a": a}
	c, err := twopc.New(twopc.NewMemoryLog(), res)
	if err != nil {
		t.Fatal(err)
	}
	delete(res, "a")
	res["b"] = newFake("b")
	if out, err := c.Run(context.Background(), "tx", a); out != twopc.Committed || err != nil {
		t.Fatalf("Run after the caller emptied its map = %v, %v", out, err)
	}
	if _, err := c.Run(context.Background(), "tx2", newFake("b")); !errors.Is(err, twopc.ErrUnknownParticipant) {
		t.Fatalf("Run with a resource added to the caller's map = %v, want ErrUnknownParticipant", err)
	}
}

// lateFake prepares successfully, but only after its context has ended.
type lateFake struct{ *fake }

func (l lateFake) Prepare(ctx context.Context, id string) error {
	<-ctx.Done()
	time.Sleep(5 * time.Millisecond)
	return l.fake.Prepare(context.Background(), id)
}

// TestPrepareOutlastingTimeoutAborts: a Prepare that returns nil after
// WithPrepareTimeout has passed failed, as the doc says; before, it
// counted as prepared and the transaction committed.
func TestPrepareOutlastingTimeoutAborts(t *testing.T) {
	a, b := newFake("a"), newFake("b")
	c := coordinator(t, twopc.NewMemoryLog(), a, b) // prepare timeout 50ms
	out, err := c.Run(context.Background(), "tx", a, lateFake{b})
	if out != twopc.Aborted || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, %v; want aborted, context.DeadlineExceeded", out, err)
	}
	if a.committed["tx"] || b.committed["tx"] || !b.aborted["tx"] {
		t.Fatalf("committed a %v b %v, aborted b %v", a.committed["tx"], b.committed["tx"], b.aborted["tx"])
	}
}

// TestNegativeOptionsRejected: every option given a negative value makes
// New fail with ErrInvalidOption instead of silently keeping the default.
func TestNegativeOptionsRejected(t *testing.T) {
	for name, opt := range map[string]twopc.Option{
		"WithPrepareTimeout":       twopc.WithPrepareTimeout(-time.Second),
		"WithBackoff initial":      twopc.WithBackoff(-time.Second, 0),
		"WithBackoff cap":          twopc.WithBackoff(0, -time.Second),
		"WithRetryBudget attempts": twopc.WithRetryBudget(-5, 0),
		"WithRetryBudget elapsed":  twopc.WithRetryBudget(0, -time.Second),
	} {
		if _, err := twopc.New(twopc.NewMemoryLog(), nil, opt); !errors.Is(err, twopc.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
}

// panicTP panics in Tracer (at "Tracer") or in Start (at "Start").
type panicTP struct {
	tnoop.TracerProvider
	at string
}

func (p panicTP) Tracer(string, ...trace.TracerOption) trace.Tracer {
	if p.at == "Tracer" {
		panic("twopc test: Tracer")
	}
	return panicTracer{}
}

type panicTracer struct{ tnoop.Tracer }

func (panicTracer) Start(context.Context, string, ...trace.SpanStartOption) (context.Context, trace.Span) {
	panic("twopc test: Start")
}

// panicMP panics in Meter (at "Meter") or in a counter's Add (at "Add").
type panicMP struct {
	mnoop.MeterProvider
	at string
}

func (p panicMP) Meter(string, ...metric.MeterOption) metric.Meter {
	if p.at == "Meter" {
		panic("twopc test: Meter")
	}
	return panicMeter{}
}

type panicMeter struct{ mnoop.Meter }

func (panicMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return panicCounter{}, nil
}

type panicCounter struct{ mnoop.Int64Counter }

func (panicCounter) Add(context.Context, int64, ...metric.AddOption) { panic("twopc test: Add") }

// TestPanickingProviders: a TracerProvider or MeterProvider (the user's
// code) that panics does not escape New or Run. Before, each of these
// crashed the caller. In New and at the span's start it is New's or
// Run's error, a *panics.Error, before anything is logged; in a counter
// counted after the work it is dropped and the outcome stands.
func TestPanickingProviders(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opt     twopc.Option
		newErr  bool
		runErr  bool
		outcome twopc.Outcome
	}{
		{"Tracer", twopc.WithTracerProvider(panicTP{at: "Tracer"}), true, false, 0},
		{"Meter", twopc.WithMeterProvider(panicMP{at: "Meter"}), true, false, 0},
		{"Start", twopc.WithTracerProvider(panicTP{at: "Start"}), false, true, 0},
		{"Add", twopc.WithMeterProvider(panicMP{at: "Add"}), false, false, twopc.Committed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newFake("a")
			mem := twopc.NewMemoryLog()
			c, err := twopc.New(mem, map[string]twopc.Resource{"a": a}, tt.opt)
			var pe *panics.Error
			if tt.newErr {
				if !errors.As(err, &pe) {
					t.Fatalf("New = %v, want a *panics.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Run(context.Background(), "tx", a)
			if tt.runErr != errors.As(err, &pe) || out != tt.outcome {
				t.Fatalf("Run = %v, %v; want %v, a *panics.Error: %v", out, err, tt.outcome, tt.runErr)
			}
			if recs, _ := mem.Claim(context.Background()); len(recs) != 0 {
				t.Fatalf("%d records left", len(recs))
			}
		})
	}
}
