package orderbook_test

import (
	"math/rand/v2"
	"testing"

	"github.com/otlpgo/otlpgo/orderbook"
)

// BenchmarkBook measures commands on a book in steady state, stating the
// commands and matches in each op: op=match, a resting sell and a buy
// that takes it (2 commands, 1 match); op=sweep10, ten resting sells on
// ten prices and a buy that takes them all (11 commands, 10 matches);
// op=addcancel, a resting order placed and cancelled (2 commands); and
// op=mixed, one command of a random stream of limit, IOC, market and
// cancel commands on 11 prices.
func BenchmarkBook(b *testing.B) {
	b.Run("op=match", func(b *testing.B) {
		book := orderbook.NewBook()
		events := make([]orderbook.Event, 0, 16)
		id := orderbook.OrderID(1)
		b.ReportAllocs()
		for b.Loop() {
			events = book.Submit(orderbook.Order{ID: id, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 100, Qty: 1}, events[:0])
			events = book.Submit(orderbook.Order{ID: id + 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: 1}, events[:0])
			id += 2
		}
		b.ReportMetric(2, "commands/op")
		b.ReportMetric(1, "matches/op")
	})
	b.Run("op=sweep10", func(b *testing.B) {
		book := orderbook.NewBook()
		events := make([]orderbook.Event, 0, 16)
		id := orderbook.OrderID(1)
		b.ReportAllocs()
		for b.Loop() {
			for p := range orderbook.Price(10) {
				events = book.Submit(orderbook.Order{ID: id, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 100 + p, Qty: 1}, events[:0])
				id++
			}
			events = book.Submit(orderbook.Order{ID: id, Side: orderbook.Buy, Kind: orderbook.IOC, Price: 109, Qty: 10}, events[:0])
			id++
			if len(events) != 10 {
				b.Fatalf("sweep made %d events, want 10 fills", len(events))
			}
		}
		b.ReportMetric(11, "commands/op")
		b.ReportMetric(10, "matches/op")
	})
	b.Run("op=addcancel", func(b *testing.B) {
		book := orderbook.NewBook()
		events := make([]orderbook.Event, 0, 16)
		id := orderbook.OrderID(1)
		b.ReportAllocs()
		for b.Loop() {
			events = book.Submit(orderbook.Order{ID: id, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 99, Qty: 1}, events[:0])
			events = book.Cancel(id, events[:0])
			id++
		}
		b.ReportMetric(2, "commands/op")
	})
	b.Run("op=mixed", func(b *testing.B) {
		book := orderbook.NewBook()
		events := make([]orderbook.Event, 0, 64)
		rng := rand.New(rand.NewPCG(1, 2))
		kinds := []orderbook.Kind{orderbook.Limit, orderbook.Limit, orderbook.Limit, orderbook.IOC, orderbook.Market}
		id := orderbook.OrderID(1)
		matches := 0
		b.ReportAllocs()
		for b.Loop() {
			events = events[:0]
			if rng.IntN(4) == 0 && id > 1 {
				events = book.Cancel(id-orderbook.OrderID(1+rng.IntN(min(int(id)-1, 50))), events)
			} else {
				events = book.Submit(orderbook.Order{ID: id, Side: orderbook.Side(1 + rng.IntN(2)),
					Kind: kinds[rng.IntN(len(kinds))], Price: orderbook.Price(95 + rng.IntN(11)), Qty: orderbook.Qty(1 + rng.IntN(10))}, events)
				id++
			}
			for _, e := range events {
				if e.Kind == orderbook.Filled {
					matches++
				}
			}
		}
		b.ReportMetric(float64(matches)/float64(b.N), "matches/op")
	})
}
