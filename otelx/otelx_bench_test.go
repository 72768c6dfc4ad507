package otelx_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/otelx"
)

// BenchmarkSpanStartEnd measures starting and ending one span through:
// provider=sdk, the SDK built by hand with ParentBased(AlwaysSample), the
// batch settings and in-memory exporter otelx uses; provider=otelx, a
// Setup-built provider with the same sampler (counting sampler, leak
// tracking, otelx's batch processor); provider=otelx-noleak, the same
// without leak tracking; and provider=noop, the API with no SDK.
func BenchmarkSpanStartEnd(b *testing.B) {
	providers := []struct {
		name string
		make func(b *testing.B, exp *tracetest.InMemoryExporter) trace.TracerProvider
	}{
		{"noop", func(*testing.B, *tracetest.InMemoryExporter) trace.TracerProvider { return noop.NewTracerProvider() }},
		{"sdk", func(b *testing.B, exp *tracetest.InMemoryExporter) trace.TracerProvider {
			tp := sdktrace.NewTracerProvider(
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
				sdktrace.WithBatcher(exp,
					sdktrace.WithMaxQueueSize(2048), sdktrace.WithMaxExportBatchSize(512),
					sdktrace.WithBatchTimeout(5*time.Second), sdktrace.WithExportTimeout(30*time.Second)))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			return tp
		}},
		{"otelx", func(b *testing.B, exp *tracetest.InMemoryExporter) trace.TracerProvider {
			tel, _ := setup(b, otelx.WithSpanExporter(exp), otelx.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
			return tel.TracerProvider()
		}},
		{"otelx-noleak", func(b *testing.B, exp *tracetest.InMemoryExporter) trace.TracerProvider {
			tel, _ := setup(b, otelx.WithSpanExporter(exp), otelx.WithLeakDetection(false),
				otelx.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
			return tel.TracerProvider()
		}},
	}
	for _, p := range providers {
		b.Run("provider="+p.name+"/parallel=false", func(b *testing.B) {
			exp := tracetest.NewInMemoryExporter()
			tracer := p.make(b, exp).Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, span := tracer.Start(ctx, "op")
				span.End()
				if i++; i%8192 == 0 {
					exp.Reset() // keep the exporter's memory flat
				}
			}
		})
	}
	for _, p := range providers {
		b.Run("provider="+p.name+"/parallel=true", func(b *testing.B) {
			exp := tracetest.NewInMemoryExporter()
			tracer := p.make(b, exp).Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					_, span := tracer.Start(ctx, "op")
					span.End()
					if i++; i%8192 == 0 {
						exp.Reset()
					}
				}
			})
		})
	}
}

// BenchmarkHealth measures one Health snapshot, which scans the leak table.
func BenchmarkHealth(b *testing.B) {
	for _, open := range []int{0, 1000} {
		b.Run("open="+itoa(open), func(b *testing.B) {
			tel, _ := setup(b)
			tracer := tel.TracerProvider().Tracer("bench")
			spans := make([]trace.Span, open)
			for i := range spans {
				_, spans[i] = tracer.Start(context.Background(), "open")
			}
			b.Cleanup(func() {
				for _, s := range spans {
					s.End()
				}
			})
			b.ReportAllocs()
			for b.Loop() {
				_ = tel.Health()
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for ; n > 0; n /= 10 {
		i--
		buf[i] = byte('0' + n%10)
	}
	return string(buf[i:])
}
