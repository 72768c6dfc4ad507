package sampler_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otlpgo/otlpgo/sampler"
)

// BenchmarkShouldSample compares one decision of Adaptive with the SDK's
// TraceIDRatioBased and ParentBased(TraceIDRatioBased), at the same
// probability (0.1), for a root that is dropped and one that is sampled.
func BenchmarkShouldSample(b *testing.B) {
	samplers := []struct {
		name string
		s    sdktrace.Sampler
	}{
		{"adaptive", fixed(0.1)},
		{"adaptive-fair", fixed(0.1, sampler.WithFairness(1))},
		{"traceidratio", sdktrace.TraceIDRatioBased(0.1)},
		{"parentbased", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))},
	}
	// TraceIDRatioBased samples when bytes 8-15, shifted right by one, are
	// low; Adaptive when their low 56 bits are high. These IDs are dropped,
	// or sampled, by both.
	decisions := []struct {
		name string
		id   [16]byte
	}{
		{"drop", traceID(1, 0xff00_0000_0000_0001)},
		{"sample", traceID(1, 0x00ff_ffff_ffff_ffff)},
	}
	for _, d := range decisions {
		for _, s := range samplers {
			p := sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: d.id, Name: "op"}
			want := s.s.ShouldSample(p).Decision
			b.Run("decision="+d.name+"/sampler="+s.name+"/parallel=false", func(b *testing.B) {
				if (want == sdktrace.Drop) != (d.name == "drop") {
					b.Fatalf("%s decided %v", s.name, want)
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = s.s.ShouldSample(p)
				}
			})
			b.Run("decision="+d.name+"/sampler="+s.name+"/parallel=true", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = s.s.ShouldSample(p)
					}
				})
			})
		}
	}
}

// BenchmarkSpanStartEnd measures span start+end through a TracerProvider
// with a no-op exporter behind a batch processor, for AlwaysSample and for
// Adaptive at a budget of 10,000 sampled spans per second (the benchmark
// loop starts far more, so Adaptive drops most).
func BenchmarkSpanStartEnd(b *testing.B) {
	for _, tt := range []struct {
		name string
		s    func() sdktrace.Sampler
	}{
		{"alwayson", sdktrace.AlwaysSample},
		{"adaptive-10k", func() sdktrace.Sampler { return sampler.NewAdaptive(sampler.WithBudget(10_000)) }},
	} {
		b.Run("sampler="+tt.name, func(b *testing.B) {
			s := tt.s()
			opts := []sdktrace.TracerProviderOption{sdktrace.WithSampler(s), sdktrace.WithBatcher(tracetest.NewNoopExporter())}
			if sp, ok := s.(sdktrace.SpanProcessor); ok {
				opts = append(opts, sdktrace.WithSpanProcessor(sp))
			}
			tp := sdktrace.NewTracerProvider(opts...)
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tracer := tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, span := tracer.Start(ctx, "op")
				span.End()
			}
			if a, ok := s.(*sampler.Adaptive); ok {
				st := a.Stats()
				b.ReportMetric(st.Probability, "probability")
			}
		})
	}
}
