package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otlpgo/otlpgo/errs"
)

var (
	errCause = errors.New("connection reset")
	sinkErr  error
)

// BenchmarkWrap compares making a wrapped error: errs.Wrap against
// fmt.Errorf("...: %w"), in a context holding a span from the no-op
// provider and from an SDK provider that samples nothing (its span
// context is still valid, so Wrap copies real IDs).
func BenchmarkWrap(b *testing.B) {
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer sdk.Shutdown(context.Background())
	for _, p := range []struct {
		name string
		ctx  func() (context.Context, func())
	}{
		{"noop", func() (context.Context, func()) {
			ctx, span := noop.NewTracerProvider().Tracer("b").Start(context.Background(), "op")
			return ctx, func() { span.End() }
		}},
		{"sdk-never-sample", func() (context.Context, func()) {
			ctx, span := sdk.Tracer("b").Start(context.Background(), "op")
			return ctx, func() { span.End() }
		}},
	} {
		ctx, end := p.ctx()
		b.Run("otel="+p.name+"/impl=errs", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = errs.Wrap(ctx, "network", errCause)
			}
		})
		b.Run("otel="+p.name+"/impl=fmt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkErr = fmt.Errorf("network: %w", errCause)
			}
		})
		end()
	}
}
