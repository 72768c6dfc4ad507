package otelx_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otlpgo/otlpgo/otelx"
)

// Set up telemetry, trace some work, and shut down. In a service, leave
// out WithSpanExporter and WithMetricReader: spans and metrics then go
// over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default
// http://localhost:4318).
func Example() {
	ctx := context.Background()
	spans := tracetest.NewInMemoryExporter()
	tel, err := otelx.Setup(ctx,
		otelx.WithServiceName("checkout"),
		otelx.WithSpanExporter(spans),
		otelx.WithMetricReader(sdkmetric.NewManualReader()),
		otelx.WithGlobal(false), // a service keeps the default, true
	)
	if err != nil {
		log.Fatal(err)
	}

	tracer := tel.TracerProvider().Tracer("example.com/checkout")
	ctx, span := tracer.Start(ctx, "checkout")
	_, charge := tracer.Start(ctx, "charge card")
	charge.End()
	span.End()

	if err := tel.ForceFlush(ctx); err != nil {
		log.Fatal(err)
	}
	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name)
	}
	if err := tel.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tel.Health().Traces.SpansExported, "spans exported")
	// Output:
	// charge card
	// checkout
	// 2 spans exported
}

// Health says whether telemetry is getting through, and names spans that
// were started and never ended.
func ExampleTelemetry() {
	ctx := context.Background()
	tel, err := otelx.Setup(ctx,
		otelx.WithSpanExporter(tracetest.NewInMemoryExporter()),
		otelx.WithMetricReader(sdkmetric.NewManualReader()),
		otelx.WithGlobal(false),
		otelx.WithLeakThreshold(1), // 1ns: any open span counts as leaked here
	)
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(ctx)

	tracer := tel.TracerProvider().Tracer("example.com/leaky")
	_, forgotten := tracer.Start(ctx, "handler without End")
	_ = forgotten // a code path returns before forgotten.End()

	h := tel.Health()
	fmt.Println(h.Status)
	fmt.Println(h.Spans.Open, "open:", h.Spans.OldestOpen[0].Name)
	// Output:
	// degraded
	// 1 open: handler without End
}

// HealthHandler serves the same report as JSON, with 503 when failing.
func ExampleTelemetry_HealthHandler() {
	ctx := context.Background()
	tel, err := otelx.Setup(ctx,
		otelx.WithSpanExporter(tracetest.NewInMemoryExporter()),
		otelx.WithMetricReader(sdkmetric.NewManualReader()),
		otelx.WithGlobal(false),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(ctx)

	// In a service: mux.Handle("/debug/telemetry", tel.HealthHandler())
	srv := httptest.NewServer(tel.HealthHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(body), `"status": "healthy"`))
	// Output: 200 true
}

// Setup samples adaptively by default: WithSpanBudget (or the
// OTLPGO_SPAN_BUDGET environment variable) sets how many sampled spans per
// second it aims for. Health reports what the
// sampler is doing; a new sampler starts at probability 1 and settles
// within a few intervals of the first traffic.
func ExampleWithSpanBudget() {
	ctx := context.Background()
	tel, err := otelx.Setup(ctx,
		otelx.WithSpanBudget(250),
		otelx.WithSpanExporter(tracetest.NewInMemoryExporter()),
		otelx.WithMetricReader(sdkmetric.NewManualReader()),
		otelx.WithGlobal(false),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer tel.Shutdown(ctx)

	h := tel.Health()
	for _, s := range h.Settings {
		if s.Name == "traces.span_budget" {
			fmt.Println("budget", s.Value, "from", s.Source)
		}
	}
	fmt.Println("probability", h.Sampler.Probability)
	// Output:
	// budget 250 from option
	// probability 1
}
