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
