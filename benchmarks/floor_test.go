package benchmarks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
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
// records every span into a processor that discards it.
func BenchmarkInstrumentationFloor(b *testing.B) {
	body := []byte(`{"id":"ord-1"}`)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(body)
	})
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
		b.Run("sampler="+v.name, func(b *testing.B) {
			var h http.Handler = bare
			if v.tp != nil {
				h = otelhttp.NewHandler(bare, "POST /orders", otelhttp.WithTracerProvider(v.tp),
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
