package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/internal/collectortest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// restoreGlobals undoes the demo's otelx.Setup, which installs globals.
func restoreGlobals(t *testing.T) {
	tp, mp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	handler := otel.GetErrorHandler()
	t.Cleanup(func() {
		otel.SetErrorHandler(handler)
		otel.SetTracerProvider(tp)
		otel.SetMeterProvider(mp)
		otel.SetTextMapPropagator(prop)
	})
}

// count reads the number on the summary row named name.
func count(t *testing.T, out, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q row in:\n%s", name, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// countIfPresent reads the number on the row named name, or 0 if there is
// none.
func countIfPresent(out, name string) int {
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestDemoWithoutCollectorSummarisesWhatWouldBeExported(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{duration: 600 * time.Millisecond, workers: 2, rate: 1000, budget: 300}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	orders, started := count(t, s, "orders placed"), count(t, s, "spans started")
	sampled, exported, dropped := count(t, s, "spans sampled"), count(t, s, "spans exported"), count(t, s, "spans dropped")
	if orders == 0 || started < 2*orders || sampled == 0 || sampled > started || exported != sampled || dropped != 0 {
		t.Errorf("orders %d, started %d, sampled %d, exported %d, dropped %d:\n%s", orders, started, sampled, exported, dropped, s)
	}
	// The embedded summary saw exactly the exported spans, and each
	// sampled order is a whole trace: a place and a risk check.
	perName := count(t, s, "order.place") + count(t, s, "risk.check") + count(t, s, "book.match") + count(t, s, "orderbook.batch") +
		countIfPresent(s, "concurrency.pipeline.run") + // one span, sampled or not
		countIfPresent(s, "concurrency.pipeline.stage") + // two per fill, each fill sampled on its own
		countIfPresent(s, "saga settle") + countIfPresent(s, "step debit-buyer") + countIfPresent(s, "step credit-seller") +
		countIfPresent(s, "step confirm") + countIfPresent(s, "compensate debit-buyer") + countIfPresent(s, "compensate credit-seller")
	if perName != exported || count(t, s, "order.place") != count(t, s, "risk.check") {
		t.Errorf("summary lists %d spans by name, health says %d exported:\n%s", perName, exported, s)
	}
	// Orders went through the order book engine, whose log replays to the
	// same book.
	placed := count(t, s, "orders filled") + count(t, s, "orders rested") + count(t, s, "orders cancelled") +
		count(t, s, "orders rejected") + count(t, s, "book rejects")
	if placed != orders || count(t, s, "book commands") < orders-count(t, s, "orders rejected") {
		t.Errorf("outcomes add up to %d of %d orders; the book saw %d commands:\n%s", placed, orders, count(t, s, "book commands"), s)
	}
	if !regexp.MustCompile(`log replay .* identical to the engine's: true`).MatchString(s) {
		t.Errorf("no successful log replay in:\n%s", s)
	}
	// The risk engine, fed by the book's event stream, holds reservations
	// for exactly the orders resting in the book, and refused nothing.
	if m := regexp.MustCompile(`risk open\s+(\d+) .*the book has (\d+) resting\); 0 fills or releases refused`).FindStringSubmatch(s); m == nil || m[1] != m[2] {
		t.Errorf("risk and the book disagree on open orders:\n%s", s)
	}
	// Every fill's saga ended: completed or compensated, none stuck.
	if m := regexp.MustCompile(`fills settled\s+(\d+)  of (\d+), .*; (\d+) compensated, (\d+) stuck; (\d+) clearing calls retried`).FindStringSubmatch(s); m == nil ||
		atoi(m[1])+atoi(m[3]) != atoi(m[2]) || m[4] != "0" || m[5] == "0" {
		t.Errorf("not every fill's saga ended, or no retry happened:\n%s", s)
	}
	// Sampled spans are counted in every second from the start to the end
	// of settlement, and add up to the spans sampled.
	m := regexp.MustCompile(`(?m)^\s+sampled spans/s\s+([\d ]+)  \(`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no sampled spans/s row in:\n%s", s)
	}
	perSecond := 0
	for _, f := range strings.Fields(m[1]) {
		perSecond += atoi(f)
	}
	if perSecond != sampled {
		t.Errorf("sampled spans per second add up to %d, not the %d sampled:\n%s", perSecond, sampled, s)
	}
	// No trace grows with the run: the largest is one settlement (its two
	// stage spans, the saga and its steps and compensations) or one order.
	if n := count(t, s, "largest trace"); n == 0 || n > 12 {
		t.Errorf("the largest trace has %d spans, want 1 to 12:\n%s", n, s)
	}
	if !strings.Contains(s, "by pre-trade risk: max-quantity") {
		t.Errorf("no risk rejections by rule in:\n%s", s)
	}
	if !strings.Contains(s, "by Adaptive{budget:300/s}") || !strings.Contains(s, "health              healthy") {
		t.Errorf("summary does not show the adaptive sampler and health:\n%s", s)
	}
}

func TestDemoExportsToTheCollector(t *testing.T) {
	restoreGlobals(t)
	col := collectortest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint())
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{duration: 300 * time.Millisecond, workers: 2, rate: 500, budget: 1000}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	exported := count(t, s, "spans exported")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Spans and metrics arrive in separate requests: wait for both.
	got, ok := col.WaitFor(ctx, func(r collectortest.Received) bool {
		return len(r.Spans) >= exported &&
			slices.ContainsFunc(r.Metrics, func(m collectortest.Metric) bool { return m.Name == "demo.orders" })
	})
	if !ok || exported == 0 {
		t.Fatalf("collector has %d spans, demo exported %d:\n%s", len(got.Spans), exported, s)
	}
	if !slices.ContainsFunc(got.Spans, func(sp collectortest.Span) bool {
		return sp.Name == "order.place" && sp.Resource["service.name"] == "otlpgo-demo"
	}) {
		t.Errorf("no order.place span from service otlpgo-demo among %d", len(got.Spans))
	}
	if !slices.ContainsFunc(got.Metrics, func(m collectortest.Metric) bool { return m.Name == "demo.orders" }) {
		t.Errorf("no demo.orders metric among %d", len(got.Metrics))
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, o := range []options{
		{duration: 0, workers: 1, rate: 1, budget: 1},
		{duration: time.Second, workers: 0, rate: 1, budget: 1},
		{duration: time.Second, workers: 1, rate: -1, budget: 1},
		{duration: time.Second, workers: 1, rate: 1, budget: 0},
	} {
		if err := run(context.Background(), &bytes.Buffer{}, o); err == nil {
			t.Errorf("run(%+v) accepted bad flags", o)
		}
	}
}

func TestSchedulePhases(t *testing.T) {
	start := time.Unix(0, 0)
	s := schedule{start: start, duration: 3 * time.Second, base: 100}
	for _, tt := range []struct {
		at          time.Duration
		phase, rate int
	}{{0, 0, 100}, {999 * time.Millisecond, 0, 100}, {time.Second, 1, 500}, {2 * time.Second, 2, 100}, {5 * time.Second, 2, 100}} {
		if p, r := s.phase(start.Add(tt.at)), s.rate(start.Add(tt.at)); p != tt.phase || r != tt.rate {
			t.Errorf("at %v: phase %d rate %d, want %d %d", tt.at, p, r, tt.phase, tt.rate)
		}
	}
}
