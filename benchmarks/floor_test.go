package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/sampler"
)

// BenchmarkInstrumentationFloor measures what otelhttp costs a request
// whose span is not sampled, with no network and an empty handler: the
// floor under every sampler's overhead (cmd/overhead's ratio and adaptive
// variants cannot go below it). sampler=none is the bare handler;
// sampler=noop is otelhttp over the OpenTelemetry API's no-op provider (no
// SDK at all); sampler=never drops every span in the SDK; sampler=adaptive
// is otlpgo's at a budget the loop far exceeds (so it drops almost all,
// after a warm-up that lets it settle); sampler=always records every span
// and hands it to an exporter that discards it. children=3 has
// the handler start three child spans, as cmd/overhead's traced handler
// does: what a service's own spans add when dropped and when recorded.
func BenchmarkInstrumentationFloor(b *testing.B) {
	body := []byte(`{"id":"ord-1"}`)
	for _, v := range []struct {
		name     string
		provider func() trace.TracerProvider
	}{
		{"none", nil},
		{"noop", func() trace.TracerProvider { return tracenoop.NewTracerProvider() }},
		{"never", func() trace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		}},
		{"adaptive", func() trace.TracerProvider {
			adaptive := sampler.NewAdaptive(sampler.WithBudget(1))
			return sdktrace.NewTracerProvider(sdktrace.WithSampler(adaptive), sdktrace.WithSpanProcessor(adaptive),
				sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		}},
		{"always", func() trace.TracerProvider {
			return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		}},
	} {
		for _, children := range []int{0, 3} {
			if v.provider == nil && children > 0 {
				continue // untraced: the handler makes no tracing calls
			}
			b.Run(fmt.Sprintf("sampler=%s/children=%d", v.name, children), func(b *testing.B) {
				var tp trace.TracerProvider
				var tracer trace.Tracer
				if v.provider != nil {
					tp = v.provider()
					tracer = tp.Tracer("floor")
				}
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for range children {
						_, span := tracer.Start(r.Context(), "step", trace.WithAttributes(attribute.Int("order.bytes", len(body))))
						span.End()
					}
					_, _ = io.Copy(io.Discard, r.Body)
					_, _ = w.Write(body)
				})
				if tp != nil {
					h = otelhttp.NewHandler(h, "POST /orders", otelhttp.WithTracerProvider(tp),
						otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
				}
				w := httptest.NewRecorder()
				serve := func() {
					r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/orders", bytes.NewReader(body))
					w.Body.Reset()
					h.ServeHTTP(w, r)
				}
				// Warm up: the adaptive sampler starts by sampling everything
				// and settles on its budget within its first intervals.
				for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
					serve()
				}
				b.ReportAllocs()
				for b.Loop() {
					serve()
				}
			})
		}
	}
}
