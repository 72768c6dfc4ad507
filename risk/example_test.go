package risk_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/otlpgo/otlpgo/risk"
)

// Limits are a Config; a check returns which rule rejected an order and
// why.
func Example() {
	engine, err := risk.New(risk.Config{MaxOrderQty: 100, PriceBandBps: 200}) // ±2%
	if err != nil {
		fmt.Println(err)
		return
	}
	engine.SetReferencePrice("ESZ6", 5_000)
	ctx := context.Background()

	for _, o := range []risk.Order{
		{ID: 1, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 5_010, Qty: 10},
		{ID: 2, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 5_010, Qty: 500},
		{ID: 3, Account: "acme", Instrument: "ESZ6", Side: risk.Sell, Price: 500, Qty: 10}, // a fat finger
	} {
		d := engine.Check(ctx, o)
		if d.Allowed {
			fmt.Println(o.ID, "allowed")
			continue
		}
		fmt.Println(o.ID, d.Rule+":", d.Message)
	}
	// Output:
	// 1 allowed
	// 2 max-quantity: quantity 500 over the limit of 100
	// 3 price-band: price 500 is more than 200 bps from the reference 5000
}

// A daily notional limit reserves what each allowed order could trade;
// fills turn the reservation into use, and Release gives back the rest.
func ExampleEngine() {
	engine, err := risk.New(risk.Config{DailyNotional: 10_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	buy := risk.Order{ID: 1, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 100, Qty: 80} // 8,000
	fmt.Println(engine.Check(ctx, buy).Allowed)

	more := risk.Order{ID: 2, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 100, Qty: 30} // 3,000
	err = engine.Check(ctx, more).Err()
	var rejected *risk.RejectError
	fmt.Println(errors.As(err, &rejected), rejected.Reason)

	// Half of order 1 fills; the rest is cancelled: 4,000 used, 6,000 free.
	_ = engine.Fill(1, 40, 100)
	_ = engine.Release(1)
	fmt.Println(engine.Check(ctx, more).Allowed)
	// Output:
	// true
	// true daily notional over limit
	// true
}
