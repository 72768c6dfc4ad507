package orderbook_test

import (
	"errors"
	"fmt"

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
