package orderbook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/otlpgo/otlpgo/orderbook"
)

// Prices and quantities become exact integers on the instrument's grid,
// and come back as the same text.
func Example() {
	tick := orderbook.MustParseStep("0.25")
	lot := orderbook.MustParseStep("0.001")

	p, _ := orderbook.ParsePrice("101.25", tick)
	q, _ := orderbook.ParseQty("1.5", lot)
	fmt.Println(p, "ticks,", q, "lots")
	fmt.Println(tick.Format(int64(p)), lot.Format(int64(q)))

	_, err := orderbook.ParsePrice("101.30", tick)
	fmt.Println(errors.Is(err, orderbook.ErrOffGrid), err)
	// Output:
	// 405 ticks, 1500 lots
	// 101.25 1.500
	// true orderbook: not a multiple of the step: price "101.30"
}

// A resting sell, then a buy that takes part of it and rests the rest.
func ExampleBook() {
	book := orderbook.NewBook()
	var events []orderbook.Event
	events = book.Submit(orderbook.Order{ID: 1, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 101, Qty: 5}, events)
	events = book.Submit(orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 102, Qty: 8}, events)
	events = book.Submit(orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 99, Qty: 1}, events)
	for _, e := range events {
		line := fmt.Sprint(e.Kind, " order ", e.Order, " maker ", e.Maker, " price ", e.Price, " qty ", e.Qty)
		if e.Reason != orderbook.ReasonNone {
			line += ": " + e.Reason.String()
		}
		fmt.Println(line)
	}
	bid, qty, _ := book.Best(orderbook.Buy)
	fmt.Println("best bid", bid, "qty", qty)
	// Output:
	// rested order 1 maker 0 price 101 qty 5
	// filled order 2 maker 1 price 101 qty 5
	// rested order 2 maker 0 price 102 qty 3
	// rejected order 2 maker 0 price 99 qty 1: duplicate order ID
	// best bid 102 qty 3
}

// A stop order waits off the book until a trade reaches its stop price,
// then enters as a market (Stop) or limit (StopLimit) order.
func ExampleBook_stopOrders() {
	book := orderbook.NewBook()
	var events []orderbook.Event
	// Sell if the price falls to 99: a stop-loss.
	events = book.Submit(orderbook.Order{ID: 1, Side: orderbook.Sell, Kind: orderbook.Stop, Qty: 2, Stop: 99}, events)
	events = book.Submit(orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 99, Qty: 1}, events)
	events = book.Submit(orderbook.Order{ID: 3, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 98, Qty: 5}, events)
	// A trade at 99 triggers it; it sells into the bids.
	events = book.Submit(orderbook.Order{ID: 4, Side: orderbook.Sell, Kind: orderbook.IOC, Price: 99, Qty: 1}, events)
	for _, e := range events {
		fmt.Println(e.Kind, "order", e.Order, "price", e.Price, "qty", e.Qty)
	}
	last, _ := book.LastPrice()
	fmt.Println("last", last)
	// Output:
	// pending order 1 price 99 qty 2
	// rested order 2 price 99 qty 1
	// rested order 3 price 98 qty 5
	// filled order 4 price 99 qty 1
	// triggered order 1 price 99 qty 2
	// filled order 1 price 98 qty 2
	// last 98
}

// A Step is a tick or lot size; Format writes a count of steps back as
// the decimal it stands for.
func ExampleStep() {
	tick, err := orderbook.ParseStep("0.05")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tick, tick.Format(2025))
	_, err = orderbook.ParseStep("0")
	fmt.Println(errors.Is(err, orderbook.ErrZero))
	// Output:
	// 0.05 101.25
	// true
}

// Many goroutines may send commands to an Engine; one goroutine matches
// them and logs them first, so the log replays to the same book.
func ExampleEngine() {
	ctx := context.Background()
	var log bytes.Buffer // OpenEngine logs to a file; any io.Writer will do
	engine, err := orderbook.NewEngine(&log)
	if err != nil {
		fmt.Println(err)
		return
	}
	sell := orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: 1, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 101, Qty: 5}}
	buy := orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.IOC, Price: 101, Qty: 2}}

	// Send queues a command and returns; the handler gets the result on
	// the matching goroutine. Do waits for it.
	if err := engine.Send(ctx, sell, func(r orderbook.Result) { fmt.Println(r.Seq, r.Events[0].Kind, r.Events[0].Qty) }); err != nil {
		fmt.Println(err)
		return
	}
	events, seq, err := engine.Do(ctx, buy, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(seq, events[0].Kind, events[0].Qty, "from maker", events[0].Maker)

	snap, _, _ := engine.Snapshot(ctx)
	if err := engine.Shutdown(ctx); err != nil {
		fmt.Println(err)
		return
	}
	book, n, err := orderbook.Replay(&log)
	fmt.Println("replayed", n, "commands:", bytes.Equal(book.AppendSnapshot(nil), snap), err)
	// Output:
	// 1 rested 5
	// 2 filled 2 from maker 1
	// replayed 2 commands: true <nil>
}

// OpenEngine keeps the log in a file and, when the file exists, replays it
// first: a restarted engine goes on with the book it had.
func ExampleOpenEngine() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "orderbook")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "btc-usd.log")

	for run := 1; run <= 2; run++ {
		engine, err := orderbook.OpenEngine(path)
		if err != nil {
			fmt.Println(err)
			return
		}
		order := orderbook.Order{ID: orderbook.OrderID(run), Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: 1}
		_, seq, err := engine.Do(ctx, orderbook.Command{Op: orderbook.OpSubmit, Order: order}, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("run", run, "command", seq)
		if err := engine.Shutdown(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	book, _, _ := orderbook.Replay(f)
	_, qty, _ := book.Best(orderbook.Buy)
	fmt.Println("bid quantity after both runs:", qty)
	// Output:
	// run 1 command 1
	// run 2 command 2
	// bid quantity after both runs: 2
}

// A snapshot and the log's later commands rebuild the book without
// replaying the whole log: RestoreBook, then ReadLog and Apply of the
// commands after the snapshot's sequence number.
func ExampleRestoreBook() {
	ctx := context.Background()
	var log bytes.Buffer
	engine, err := orderbook.NewEngine(&log)
	if err != nil {
		fmt.Println(err)
		return
	}
	submit := func(id orderbook.OrderID, side orderbook.Side, price orderbook.Price) {
		o := orderbook.Order{ID: id, Side: side, Kind: orderbook.Limit, Price: price, Qty: 5}
		if _, _, err := engine.Do(ctx, orderbook.Command{Op: orderbook.OpSubmit, Order: o}, nil); err != nil {
			fmt.Println(err)
		}
	}
	submit(1, orderbook.Buy, 99)
	submit(2, orderbook.Sell, 101)
	snap, at, err := engine.Snapshot(ctx) // saved somewhere durable, with at
	if err != nil {
		fmt.Println(err)
		return
	}
	submit(3, orderbook.Buy, 100)
	submit(4, orderbook.Sell, 100) // trades with 3
	if err := engine.Shutdown(ctx); err != nil {
		fmt.Println(err)
		return
	}

	// After a restart: the snapshot, then only the commands after it.
	book, err := orderbook.RestoreBook(snap)
	if err != nil {
		fmt.Println(err)
		return
	}
	applied := 0
	err = orderbook.ReadLog(bytes.NewReader(log.Bytes()), func(seq uint64, c orderbook.Command) error {
		if seq > at {
			book.Apply(c, nil)
			applied++
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	replayed, _, err := orderbook.Replay(bytes.NewReader(log.Bytes()))
	if err != nil {
		fmt.Println(err)
		return
	}
	price, _ := book.LastPrice()
	fmt.Println("snapshot at command", at, "then", applied, "commands; last trade", price)
	fmt.Println("same book as a full replay:", bytes.Equal(book.AppendSnapshot(nil), replayed.AppendSnapshot(nil)))
	// Output:
	// snapshot at command 2 then 2 commands; last trade 100
	// same book as a full replay: true
}
