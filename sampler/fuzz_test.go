package sampler_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// fuzzTraceStates are parent tracestates a hostile or broken upstream may
// send: valid and invalid th and rv, extremes, and other vendors' entries.
var fuzzTraceStates = []string{
	"", "ot=th:0", "ot=th:8", "ot=th:ffffffffffffff", "ot=th:fffffffffffffff", "ot=th:", "ot=th:g",
	"ot=rv:ffffffffffffff", "ot=rv:00000000000000", "ot=th:c;rv:00000000000001", "ot=th:1;rv:zz",
	"ot=th:8;x:y,vendor=v", "vendor=v", "ot=th:0000000000001",
}

// fuzzDurations are the clock steps between operations: none, tiny,
// about an interval, and far beyond it.
var fuzzDurations = []time.Duration{0, time.Nanosecond, time.Microsecond, time.Millisecond, 100 * time.Millisecond,
	time.Second, 10 * time.Second, time.Hour}

// FuzzAdaptive drives an Adaptive through random operations — roots,
// children, remote parents with hostile tracestates, span ends with and
// without errors, ticks of the adjusting goroutine at any spacing, early
// adjustments — and checks after every step that the probability is
// within its bounds, Stats is finite, in range and encodes as JSON, every
// sampled span carries a threshold its randomness passes, and no estimate
// was ever replaced for not being finite.
func FuzzAdaptive(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0xff, 3, 7, 1, 0, 4, 5, 4, 5, 4, 5, 3, 3, 3, 3, 0x44, 0x45})
	f.Add([]byte{0x12, 0x34, 2, 2, 2, 2, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		var reported []error
		errs := captureErrors(t)
		cfg := data[0]
		floor := []float64{sampler.DefaultFloor, 0x1p-40, 0.5, 1}[cfg&3]
		opts := []sampler.Option{sampler.WithFloor(floor), sampler.WithBudget([]float64{1, 100, 1e6}[int(data[1])%3])}
		if cfg&4 != 0 {
			opts = append(opts, sampler.WithFairness(1))
		}
		if cfg&8 != 0 {
			opts = append(opts, sampler.WithMaxTracesPerSecond(10))
		}
		if cfg&16 != 0 {
			opts = append(opts, sampler.WithParentBased(false))
		}
		if cfg&32 != 0 {
			opts = append(opts, sampler.WithRemoteParent(sampler.DecideRemoteParent))
		}
		if cfg&64 != 0 {
			opts = append(opts, sampler.WithErrorBoost(0, 1e6))
		}
		a, clk, tick := ticked(t, opts...)
		ctx := context.Background()
		var seq uint64
		for i, op := range data[2:] {
			seq++
			id := fuzzTraceID(seq, op)
			arg := int(op >> 3)
			switch op & 7 {
			case 0, 1: // a root
				res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: string(rune('a' + arg%5))})
				checkResult(t, res, id)
			case 2: // a child of a parent with a tracestate, local or remote, sampled or not
				ts, _ := trace.ParseTraceState(fuzzTraceStates[arg%len(fuzzTraceStates)])
				flags := trace.TraceFlags(0)
				if arg&1 != 0 {
					flags = trace.FlagsSampled
				}
				psc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{1}, TraceFlags: flags, TraceState: ts, Remote: arg&2 != 0})
				res := a.ShouldSample(sdktrace.SamplingParameters{ParentContext: trace.ContextWithSpanContext(ctx, psc), TraceID: id})
				checkResult(t, res, id)
			case 3: // a span ends, perhaps in error, carrying some threshold
				ts, _ := trace.ParseTraceState(fuzzTraceStates[arg%len(fuzzTraceStates)])
				stub := tracetest.SpanStub{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
					TraceID: id, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, TraceState: ts})}
				if arg&1 != 0 {
					stub.Status = sdktrace.Status{Code: codes.Error}
				}
				a.OnEnd(stub.Snapshot())
			case 4: // the timer fires after some time
				tick(fuzzDurations[arg%len(fuzzDurations)])
			case 5: // time passes with no tick
				clk.t = clk.t.Add(fuzzDurations[arg%len(fuzzDurations)])
			case 6: // a burst of roots
				for j := range 1 + arg {
					id := fuzzTraceID(seq*1000+uint64(j), op)
					checkResult(t, a.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: "burst"}), id)
				}
			case 7: // a health page reads the sampler
				st := a.Stats()
				if _, err := json.Marshal(st); err != nil {
					t.Fatalf("step %d: Stats does not encode: %v (%+v)", i, err, st)
				}
			}
			checkStats(t, i, a.Stats(), floor)
			for _, err := range errs()[len(reported):] {
				var ee *sampler.EstimateError
				if errors.As(err, &ee) {
					t.Fatalf("step %d: %v", i, err)
				}
				reported = append(reported, err)
			}
		}
	})
}

// fuzzTraceID derives a trace ID from a sequence number and a byte, with
// randomness spread over the whole 56-bit range.
func fuzzTraceID(seq uint64, b byte) trace.TraceID {
	var id trace.TraceID
	x := (seq*0x9e3779b97f4a7c15 ^ uint64(b)*0xbf58476d1ce4e5b9) | 1
	x ^= x >> 31
	binary.BigEndian.PutUint64(id[:8], seq|1)
	binary.BigEndian.PutUint64(id[8:], x*0x94d049bb133111eb)
	return id
}

// checkResult checks that a sampled span carries a valid threshold that
// its randomness (rv, or the trace ID) passes.
func checkResult(t *testing.T, res sdktrace.SamplingResult, id trace.TraceID) {
	t.Helper()
	ot := res.Tracestate.Get("ot")
	var th, rv uint64
	var hasTh, hasRv bool
	for _, kv := range strings.Split(ot, ";") {
		k, v, _ := strings.Cut(kv, ":")
		switch k {
		case "th":
			n, ok := parseHex(v, 14)
			if !ok {
				t.Fatalf("result carries an invalid th %q (%q)", v, res.Tracestate)
			}
			th, hasTh = n<<(4*(14-len(v))), true
		case "rv":
			if n, ok := parseHex(v, 14); ok && len(v) == 14 {
				rv, hasRv = n, true
			}
		}
	}
	if res.Decision != sdktrace.RecordAndSample || !hasTh {
		return
	}
	r := binary.BigEndian.Uint64(id[8:]) & (1<<56 - 1)
	if hasRv {
		r = rv
	}
	if r < th {
		t.Fatalf("sampled with th %x but randomness %x (%q)", th, r, res.Tracestate)
	}
}

func parseHex(s string, maxLen int) (uint64, bool) {
	if s == "" || len(s) > maxLen {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		i := strings.IndexRune("0123456789abcdef", c)
		if i < 0 {
			return 0, false
		}
		v = v<<4 | uint64(i)
	}
	return v, true
}

// checkStats checks the invariants of a Stats: finite, probabilities
// within [floor, 1], ratios in [0, 1], rates not negative.
func checkStats(t *testing.T, step int, st sampler.Stats, floor float64) {
	t.Helper()
	for name, v := range map[string]float64{"Probability": st.Probability, "BaseProbability": st.BaseProbability,
		"SpansPerSecond": st.SpansPerSecond, "SampledPerSecond": st.SampledPerSecond,
		"FollowedPerSecond": st.FollowedPerSecond, "ErrorRatio": st.ErrorRatio} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Fatalf("step %d: %s = %v (%+v)", step, name, v, st)
		}
	}
	if st.Probability < floor*(1-1e-3) || st.Probability > 1 || st.BaseProbability > 1 || st.ErrorRatio > 1 {
		t.Fatalf("step %d: out of range: %+v (floor %g)", step, st, floor)
	}
}
