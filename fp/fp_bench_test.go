package fp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/otlpgo/otlpgo/fp"
)

type price struct {
	ticks int64
	lots  int64
}

var sinkOut []int64

// notional is a cheap step (a couple of nanoseconds): the call overhead
// shows.
func notional(p price) int64 { return p.ticks * p.lots * 25 }

// checksum is a step of a few tens of nanoseconds, like parsing a field.
func checksum(p price) int64 {
	h := uint64(14695981039346656037)
	for _, v := range [2]int64{p.ticks, p.lots} {
		for range 8 {
			h ^= uint64(v & 0xff)
			h *= 1099511628211
			v >>= 8
		}
	}
	return int64(h)
}

func notionalCtx(_ context.Context, p price) (int64, error) { return notional(p), nil }

func checksumCtx(_ context.Context, p price) (int64, error) { return checksum(p), nil }

// BenchmarkMap compares fp.Map and fp.MapContext with the loop they
// replace over 1,024 elements, for a cheap step and a heavier one; ns/op
// is per slice. MapContext runs with a cancellable context, so its checks
// are real.
func BenchmarkMap(b *testing.B) {
	in := make([]price, 1024)
	for i := range in {
		in[i] = price{int64(5_000 + i), int64(1 + i%10)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Each implementation calls its step through one function value, as
	// code passing a function does.
	for _, step := range []struct {
		name string
		f    func(price) int64
		fctx func(context.Context, price) (int64, error)
	}{{"notional", notional, notionalCtx}, {"checksum", checksum, checksumCtx}} {
		f, fctx := step.f, step.fctx
		b.Run(fmt.Sprintf("step=%s/impl=loop", step.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out := make([]int64, len(in))
				for i, p := range in {
					out[i] = f(p)
				}
				sinkOut = out
			}
		})
		b.Run(fmt.Sprintf("step=%s/impl=fp", step.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkOut = fp.Map(in, f)
			}
		})
		b.Run(fmt.Sprintf("step=%s/impl=fp-context", step.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkOut, _ = fp.MapContext(ctx, in, fctx)
			}
		})
	}
}
