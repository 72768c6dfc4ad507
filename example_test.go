package otlpgo_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/otelx"
)

// The path a service takes: set up telemetry once in main, do traced work
// through the global tracer, and shut down before exiting so the last spans
// are exported.
//
// The in-memory exporter and manual reader stand in for the collector so
// the output is checkable; a service leaves both options out and its spans
// go over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.
func Example() {
	ctx := context.Background()
	spans := tracetest.NewInMemoryExporter()
	tel, err := otelx.Setup(ctx,
		otelx.WithServiceName("orders"),
		otelx.WithSpanExporter(spans),
		otelx.WithMetricReader(sdkmetric.NewManualReader()),
	)
	if err != nil {
		log.Fatal(err)
	}

	// Anywhere in the service: the global tracer is now the SDK's.
	tracer := otel.Tracer("example.com/orders")
	for _, qty := range []int64{5, 0} {
		_, span := tracer.Start(ctx, "place order",
			trace.WithAttributes(attribute.Int64("order.quantity", qty)))
		if qty <= 0 {
			span.SetStatus(codes.Error, "quantity must be positive")
		}
		span.End()
	}

	if err := tel.ForceFlush(ctx); err != nil {
		log.Fatal(err)
	}
	for _, s := range spans.GetSpans() {
		fmt.Printf("%s qty=%d %s\n", s.Name, s.Attributes[0].Value.AsInt64(), s.Status.Code)
	}
	if err := tel.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	h := tel.Health()
	fmt.Println(h.Spans.Started, "started,", h.Traces.SpansExported, "exported,", h.Traces.SpansDropped, "dropped")
	// Output:
	// place order qty=5 Unset
	// place order qty=0 Error
	// 2 started, 2 exported, 0 dropped
}
