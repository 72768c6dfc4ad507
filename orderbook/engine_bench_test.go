package orderbook_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// cyclingStream hands out a pre-generated stream of commands again and
// again, moving every ID to a fresh range on each lap, so that producing
// a command costs next to nothing and IDs stay unique. Each lap ends by
// cancelling every order the lap may have left resting, so that laps do
// not pile up orders.
type cyclingStream struct {
	cmds []orderbook.Command
	i    int
	lap  orderbook.OrderID
}

func newCyclingStream(seed uint64, producer, producers int) *cyclingStream {
	s := newCommandStream(seed, 11)
	s.nextID, s.step = orderbook.OrderID(producer+1), orderbook.OrderID(producers)
	cs := &cyclingStream{cmds: make([]orderbook.Command, 1<<16)}
	for i := range cs.cmds {
		cs.cmds[i] = s.next()
	}
	cs.cmds = append(cs.cmds, s.expireAll()...)
	return cs
}

func (cs *cyclingStream) next() orderbook.Command {
	c := cs.cmds[cs.i]
	if c.Order.ID != 0 {
		c.Order.ID += cs.lap << 32
	}
	if cs.i++; cs.i == len(cs.cmds) {
		cs.i, cs.lap = 0, cs.lap+1
	}
	return c
}

// BenchmarkEngine measures commands end to end: producers send a mixed
// stream (the stream of the differential tests: limit, market, IOC, FOK
// and post-only orders, cancels and modifies on 11 prices) through the
// ring buffer to the matching goroutine, which logs each batch to a file
// (OpenEngine's default) and matches it; the op ends when Shutdown has
// drained the queue. ns/op is per command; commands/s is the engine's
// throughput. producers=0 is the baseline: the same stream applied to a
// Book directly by one goroutine, with no queue, log or handler.
func BenchmarkEngine(b *testing.B) {
	b.Run("producers=0", func(b *testing.B) {
		book := orderbook.NewBook()
		s := newCyclingStream(0, 0, 1)
		events := make([]orderbook.Event, 0, 64)
		matches := 0
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			events = book.Apply(s.next(), events[:0])
			for _, ev := range events {
				if ev.Kind == orderbook.Filled {
					matches++
				}
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commands/s")
		b.ReportMetric(float64(matches)/float64(b.N), "matches/op")
	})
	for _, producers := range []int{1, 2} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			var matches int64
			e, err := orderbook.OpenEngine(filepath.Join(b.TempDir(), "book.log"),
				orderbook.WithEventStream(func(r orderbook.Result) {
					for _, ev := range r.Events {
						if ev.Kind == orderbook.Filled {
							matches++
						}
					}
				}))
			if err != nil {
				b.Fatal(err)
			}
			streams := make([]*cyclingStream, producers)
			for p := range streams {
				streams[p] = newCyclingStream(uint64(p), p, producers)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for p := range producers {
				n := b.N / producers
				if p == 0 {
					n += b.N % producers
				}
				wg.Go(func() {
					s := streams[p]
					for range n {
						if err := e.Send(ctx, s.next(), nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := e.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commands/s")
			b.ReportMetric(float64(matches)/float64(b.N), "matches/op")
		})
	}
}

// BenchmarkReplay rebuilds a book from a log of a million commands of the
// mixed stream, and checks that its snapshot equals the one the engine
// had when it wrote the log. ns/op is per replay of the whole log.
func BenchmarkReplay(b *testing.B) {
	const commands = 1_000_000
	b.Run(fmt.Sprintf("commands=%d", commands), func(b *testing.B) {
		var log bytes.Buffer
		e, err := orderbook.NewEngine(&log)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		s := newCyclingStream(42, 0, 1)
		for range commands {
			if err := e.Send(ctx, s.next(), nil); err != nil {
				b.Fatal(err)
			}
		}
		want, _, err := e.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(log.Len()))
		b.ReportAllocs()
		for b.Loop() {
			book, n, err := orderbook.Replay(bytes.NewReader(log.Bytes()))
			if err != nil || n != commands {
				b.Fatalf("Replay: %d commands, %v", n, err)
			}
			if !bytes.Equal(book.AppendSnapshot(nil), want) {
				b.Fatal("the replayed book's snapshot differs from the engine's")
			}
		}
		b.ReportMetric(float64(log.Len())/commands, "log-bytes/command")
	})
}

// BenchmarkRestoreBook measures RestoreBook on books of a given number of
// resting orders (bids on 500 prices below 10,000, asks on 500 above: one
// order a level at orders=1000, 100 at orders=100000), which is what
// rebuilding a book from a snapshot costs instead of replaying the log's
// whole history.
func BenchmarkRestoreBook(b *testing.B) {
	for _, orders := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("orders=%d", orders), func(b *testing.B) {
			book := orderbook.NewBook()
			var events []orderbook.Event
			for i := range orders {
				side, price := orderbook.Buy, orderbook.Price(9_999-i%1_000)
				if i%2 == 1 {
					side, price = orderbook.Sell, orderbook.Price(10_001+i%1_000)
				}
				o := orderbook.Order{ID: orderbook.OrderID(i + 1), Side: side, Kind: orderbook.Limit, Price: price, Qty: orderbook.Qty(1 + i%7), Owner: uint64(i % 5)}
				events = book.Submit(o, events[:0])
			}
			snap := book.AppendSnapshot(nil)
			b.SetBytes(int64(len(snap)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := orderbook.RestoreBook(snap)
				if err != nil {
					b.Fatal(err)
				}
				if r.Len() != orders {
					b.Fatalf("RestoreBook: %d orders, want %d", r.Len(), orders)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(orders), "ns/order")
		})
	}
}
