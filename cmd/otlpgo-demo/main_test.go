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
	t.Cleanup(func() {
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

func TestDemoWithoutCollectorSummarisesWhatWouldBeExported(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out, 300*time.Millisecond, 2, 2000); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	orders, started := count(t, s, "orders placed"), count(t, s, "spans started")
	exported, dropped := count(t, s, "spans exported"), count(t, s, "spans dropped")
	if orders == 0 || started < 2*orders || exported != started || dropped != 0 {
		t.Errorf("orders %d, started %d, exported %d, dropped %d:\n%s", orders, started, exported, dropped, s)
	}
	// The embedded summary saw exactly the exported spans.
	perName := count(t, s, "order.place") + count(t, s, "risk.check") + count(t, s, "book.match")
	if perName != exported {
		t.Errorf("summary lists %d spans by name, health says %d exported:\n%s", perName, exported, s)
	}
	if count(t, s, "order.place") != orders || !strings.Contains(s, "health              healthy") {
		t.Errorf("summary disagrees with the workload:\n%s", s)
	}
}

func TestDemoExportsToTheCollector(t *testing.T) {
	restoreGlobals(t)
	col := collectortest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint())
	var out bytes.Buffer
	if err := run(context.Background(), &out, 300*time.Millisecond, 2, 500); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	exported := count(t, s, "spans exported")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, ok := col.WaitFor(ctx, func(r collectortest.Received) bool { return len(r.Spans) >= exported })
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
	for _, args := range [][3]int{{0, 1, 1}, {1, 0, 1}, {1, 1, -1}} {
		err := run(context.Background(), &bytes.Buffer{}, time.Duration(args[0])*time.Second, args[1], args[2])
		if err == nil {
			t.Errorf("run(%v) accepted bad flags", args)
		}
	}
}
