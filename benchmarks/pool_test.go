package benchmarks

import (
	"context"
	"sync"
	"testing"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"
	"github.com/samber/lo"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/errgroup"

	"github.com/otlpgo/otlpgo/concurrency"
	"github.com/otlpgo/otlpgo/fp"
)

const poolWorkers = 8

// tinyTask is the work of one task: a few nanoseconds of arithmetic, so
// that what is measured is the pool's own cost per task.
func tinyTask(x int) int {
	h := uint64(x) * 0x9E3779B97F4A7C15
	return int(h ^ h>>29)
}

// BenchmarkWorkerPool runs b.N tiny tasks on 8 workers through each pool
// and reports time per task: plain goroutines reading a buffered channel
// (the baseline), otlpgo's WorkerPool through Run (one batch of b.N) and
// through Submit (drained by Shutdown), errgroup with SetLimit, pond v2
// with a task group, and ants with a WaitGroup. otlpgo runs with the default
// (no-op) providers and with an SDK whose sampler samples nothing and
// whose meter records every task's duration.
func BenchmarkWorkerPool(b *testing.B) {
	sdkTP := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	sdkMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer sdkTP.Shutdown(context.Background())
	defer sdkMP.Shutdown(context.Background())
	otel := map[string][]concurrency.Option{
		"noop":      nil,
		"sdk-never": {concurrency.WithTracerProvider(sdkTP), concurrency.WithMeterProvider(sdkMP)},
	}
	ctx := context.Background()
	var sink [poolWorkers * 8]int // per-goroutine-ish slots: no shared counter in the measurement

	b.Run("impl=goroutines", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan int, 1024)
		var wg sync.WaitGroup
		for w := range poolWorkers {
			wg.Go(func() {
				for x := range ch {
					sink[w*8] = tinyTask(x)
				}
			})
		}
		for i := range b.N {
			ch <- i
		}
		close(ch)
		wg.Wait()
	})
	for _, name := range []string{"noop", "sdk-never"} {
		b.Run("impl=otlpgo-run/otel="+name, func(b *testing.B) {
			pool, err := concurrency.NewWorkerPool(poolWorkers, func(_ context.Context, x int) (int, error) { return tinyTask(x), nil }, otel[name]...)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Shutdown(ctx)
			in := make([]int, b.N)
			for i := range in {
				in[i] = i
			}
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := pool.Run(ctx, in); err != nil {
				b.Fatal(err)
			}
		})
		b.Run("impl=otlpgo-submit/otel="+name, func(b *testing.B) {
			// No callback: the results are not read, as in the baseline;
			// Shutdown drains the queue as closing the channel does there.
			pool, err := concurrency.NewWorkerPool(poolWorkers, func(_ context.Context, x int) (int, error) { return tinyTask(x), nil }, otel[name]...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := pool.Submit(ctx, i, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := pool.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.Run("impl=errgroup", func(b *testing.B) {
		b.ReportAllocs()
		var g errgroup.Group
		g.SetLimit(poolWorkers)
		for i := range b.N {
			g.Go(func() error { sink[0] = tinyTask(i); return nil })
		}
		_ = g.Wait()
	})
	b.Run("impl=pond", func(b *testing.B) {
		pool := pond.NewPool(poolWorkers)
		defer pool.StopAndWait()
		b.ReportAllocs()
		b.ResetTimer()
		group := pool.NewGroup()
		for i := range b.N {
			group.Submit(func() { sink[0] = tinyTask(i) })
		}
		_ = group.Wait()
	})
	b.Run("impl=ants", func(b *testing.B) {
		pool, err := ants.NewPool(poolWorkers)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Release()
		var wg sync.WaitGroup
		b.ReportAllocs()
		b.ResetTimer()
		wg.Add(b.N)
		for i := range b.N {
			_ = pool.Submit(func() { sink[0] = tinyTask(i); wg.Done() })
		}
		wg.Wait()
	})
}

type quote struct {
	ticks, lots int64
}

var sinkInts []int64

// BenchmarkMap maps 1,024 quotes to notionals with a plain loop, fp.Map
// and samber/lo's Map; ns/op is per slice.
func BenchmarkMap(b *testing.B) {
	in := make([]quote, 1024)
	for i := range in {
		in[i] = quote{int64(5_000 + i), int64(1 + i%10)}
	}
	notional := func(q quote) int64 { return q.ticks * q.lots * 25 }
	b.Run("impl=loop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]int64, len(in))
			for i, q := range in {
				out[i] = notional(q)
			}
			sinkInts = out
		}
	})
	b.Run("impl=fp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInts = fp.Map(in, notional)
		}
	})
	b.Run("impl=lo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInts = lo.Map(in, func(q quote, _ int) int64 { return notional(q) })
		}
	})
}
