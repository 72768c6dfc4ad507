package otelx

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkLeakTracker measures what leak tracking adds to each recorded
// span: OnStart and OnEnd on a span whose slot is free.
func BenchmarkLeakTracker(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	spans := make([]sdktrace.ReadWriteSpan, 1024)
	for i := range spans {
		_, s := tp.Tracer("bench").Start(context.Background(), "op")
		spans[i] = s.(sdktrace.ReadWriteSpan)
	}
	var l leakTracker
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := spans[i%len(spans)]
		l.OnStart(ctx, s)
		l.OnEnd(s)
		i++
	}
}

// BenchmarkCountingSampler measures what counting adds to a sampler call.
func BenchmarkCountingSampler(b *testing.B) {
	for _, counted := range []bool{false, true} {
		name := "counted=false"
		var s sdktrace.Sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
		if counted {
			name = "counted=true"
			s = &countingSampler{Sampler: s}
		}
		b.Run(name, func(b *testing.B) {
			p := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: [16]byte{1}, Name: "op"}
			b.ReportAllocs()
			for b.Loop() {
				_ = s.ShouldSample(p)
			}
		})
	}
}
