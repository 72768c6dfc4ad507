package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/sampler"
)

// BenchmarkInstrumentationFloor measures what otelhttp costs a request
// whose span is not sampled, with no network and an empty handler: the
// floor under every sampler's overhead (cmd/overhead's ratio and adaptive
// variants cannot go below it). sampler=none is the bare handler;
// sampler=never drops every span in the SDK; sampler=adaptive is otlpgo's
// at a budget the loop far exceeds (so it drops almost all); sampler=always
// records every span into a processor that discards it. children=3 has
// the handler start three child spans, as cmd/overhead's traced handler
// does: what a service's own spans add when dropped and when recorded.
func BenchmarkInstrumentationFloor(b *testing.B) {
	body := []byte(`{"id":"ord-1"}`)
	adaptive := sampler.NewAdaptive(sampler.WithBudget(1))
	for _, v := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"none", nil},
		{"never", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))},
		{"adaptive", sdktrace.NewTracerProvider(sdktrace.WithSampler(adaptive), sdktrace.WithSpanProcessor(adaptive))},
		{"always", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))},
	} {
		for _, children := range []int{0, 3} {
			if v.tp == nil && children > 0 {
				continue // untraced: the handler makes no tracing calls
			}
			b.Run(fmt.Sprintf("sampler=%s/children=%d", v.name, children), func(b *testing.B) {
				var tracer trace.Tracer
				if v.tp != nil {
					tracer = v.tp.Tracer("floor")
				}
				var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					for range children {
						_, span := tracer.Start(r.Context(), "step", trace.WithAttributes(attribute.Int("order.bytes", len(body))))
						span.End()
					}
					_, _ = io.Copy(io.Discard, r.Body)
					_, _ = w.Write(body)
				})
				if v.tp != nil {
					h = otelhttp.NewHandler(h, "POST /orders", otelhttp.WithTracerProvider(v.tp),
						otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
				}
				w := httptest.NewRecorder()
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/orders", bytes.NewReader(body))
					w.Body.Reset()
					h.ServeHTTP(w, r)
				}
			})
		}
	}
}
