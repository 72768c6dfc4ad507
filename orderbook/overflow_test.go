package orderbook_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// describe spells events compactly: kind:order@price×qty/reason.
func describe(ev []orderbook.Event) string {
	var s []string
	for _, e := range ev {
		d := fmt.Sprintf("%v:%d@%d×%d", e.Kind, e.Order, e.Price, e.Qty)
		if e.Reason != orderbook.ReasonNone {
			d += "/" + e.Reason.String()
		}
		s = append(s, d)
	}
	return strings.Join(s, " ")
}

// TestLevelTotalOverflowAtScale is issue 14's finding 6 as it was found,
// through the public API only: 2^23 resting orders of MaxQty at one price
// made the level's total 2^63, which wrapped to -2^63; the book's snapshot
// then failed to restore and a FOK of 1 lot was rejected. Now the order
// that would overflow is rejected with ReasonOverflow, the level fills to
// exactly math.MaxInt64 and no further, and the book restores and trades.
//
// It needs 2^23 orders: ~1.5 GB with the snapshot and the restored book,
// and 20 to 45 s on the 2-core machine it was written on (filling the
// level ~9 s, restoring its snapshot most of the rest), far more under
// the race detector. That is too slow for every run, so it runs only
// when OTLPGO_SCALE_TESTS=1 is set, and never with -short or -race;
// TestLevelTotalOverflowIsRejected covers the same checks in microseconds
// on every run, with a test hook standing in for the 2^23 orders.
func TestLevelTotalOverflowAtScale(t *testing.T) {
	if os.Getenv("OTLPGO_SCALE_TESTS") != "1" || testing.Short() || raceEnabled {
		t.Skip("needs 2^23 orders of MaxQty at one price (~1.5 GB, 20-45 s): set OTLPGO_SCALE_TESTS=1, without -short and -race")
	}
	start := time.Now()
	const n = 1 << 23 // orders of MaxQty (2^40) whose total is 2^63
	b := orderbook.NewBook()
	events := make([]orderbook.Event, 0, 4)
	buy := func(id orderbook.OrderID, q orderbook.Qty) orderbook.Order {
		return orderbook.Order{ID: id, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: q}
	}
	for id := orderbook.OrderID(1); id < n; id++ {
		if events = b.Submit(buy(id, orderbook.MaxQty), events[:0]); len(events) != 1 || events[0].Kind != orderbook.Rested {
			t.Fatalf("order %d: %s", id, describe(events))
		}
	}
	if got, want := describe(b.Submit(buy(n, orderbook.MaxQty), nil)), fmt.Sprintf("rejected:%d@100×%d/level quantity would overflow", n, orderbook.MaxQty); got != want {
		t.Fatalf("the order that makes 2^63: %s, want %s", got, want)
	}
	if ev := b.Submit(buy(n+1, orderbook.MaxQty-1), nil); describe(ev) != fmt.Sprintf("rested:%d@100×%d", n+1, orderbook.MaxQty-1) {
		t.Fatalf("the order that makes math.MaxInt64: %s", describe(ev))
	}
	if _, q, _ := b.Best(orderbook.Buy); q != math.MaxInt64 {
		t.Fatalf("level total %d, want math.MaxInt64", q)
	}
	if ev := b.Submit(buy(n+2, 1), nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonOverflow {
		t.Fatalf("one more lot: %s", describe(ev))
	}
	if ev := b.Modify(n+1, 100, orderbook.MaxQty, nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonOverflow {
		t.Fatalf("a Modify that grows the full level: %s", describe(ev))
	}
	snap := b.AppendSnapshot(nil)
	r, err := orderbook.RestoreBook(snap)
	if err != nil {
		t.Fatalf("RestoreBook of a full level: %v", err)
	}
	if !bytes.Equal(r.AppendSnapshot(nil), snap) {
		t.Fatal("the restored book's snapshot differs")
	}
	if got := describe(b.Submit(orderbook.Order{ID: n + 3, Side: orderbook.Sell, Kind: orderbook.FOK, Price: 100, Qty: 1}, nil)); got != fmt.Sprintf("filled:%d@100×1", n+3) {
		t.Fatalf("FOK of 1 lot against the full level: %s", got)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders in %v", n, time.Since(start))
}

// TestLevelTotalOverflowIsRejected checks every running sum the book keeps
// at its limit: a price level's total, a stop price's total, a Modify
// that moves or grows an order onto a full level, a stop-limit order
// triggered onto a full level, and the quantity a FOK order counts across
// levels. AddOversized stands in for the 2^23 orders of MaxQty each full
// level would take through Submit.
func TestLevelTotalOverflowIsRejected(t *testing.T) {
	b := orderbook.NewBook()
	check := func(what string, ev []orderbook.Event, want string) {
		t.Helper()
		if got := describe(ev); got != want {
			t.Errorf("%s:\n got %s\nwant %s", what, got, want)
		}
		if err := b.CheckInvariants(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	const full = math.MaxInt64
	if !b.AddOversized(orderbook.Order{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: full - orderbook.MaxQty}) {
		t.Fatal("AddOversized refused the first order of a level")
	}
	check("the order that fills the level to math.MaxInt64",
		b.Submit(orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: orderbook.MaxQty}, nil),
		fmt.Sprintf("rested:2@100×%d", orderbook.MaxQty))
	before := b.AppendSnapshot(nil)
	check("one more lot", b.Submit(orderbook.Order{ID: 3, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 100, Qty: 1}, nil),
		"rejected:3@100×1/level quantity would overflow")
	check("a post-only lot", b.Submit(orderbook.Order{ID: 3, Side: orderbook.Buy, Kind: orderbook.PostOnly, Price: 100, Qty: 1}, nil),
		"rejected:3@100×1/level quantity would overflow")
	check("a Modify that reduces in place", b.Modify(2, 100, 7, nil), "reduced:2@100×7")
	check("a Modify that grows back to the limit", b.Modify(2, 100, orderbook.MaxQty, nil),
		fmt.Sprintf("cancelled:2@100×7/replaced rested:2@100×%d", orderbook.MaxQty))
	if !bytes.Equal(b.AppendSnapshot(nil), before) {
		t.Fatal("a rejected order changed the book")
	}
	check("an order on another level", b.Submit(orderbook.Order{ID: 4, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 99, Qty: 5}, nil), "rested:4@99×5")
	check("a Modify onto the full level", b.Modify(4, 100, 5, nil), "rejected:4@100×5/level quantity would overflow")
	if d := b.Depth(orderbook.Buy, 2, nil); !slices.Equal(d, []orderbook.Level{{Price: 100, Qty: full, Orders: 2}, {Price: 99, Qty: 5, Orders: 1}}) {
		t.Fatalf("a rejected Modify moved the order: %+v", d)
	}

	// Pending stop orders at one stop price.
	b.AddOversized(orderbook.Order{ID: 10, Side: orderbook.Sell, Kind: orderbook.Stop, Stop: 50, Qty: full})
	check("a stop order onto a full stop price", b.Submit(orderbook.Order{ID: 11, Side: orderbook.Sell, Kind: orderbook.Stop, Stop: 50, Qty: 1}, nil),
		"rejected:11@0×1/level quantity would overflow")

	// A stop-limit order triggered onto the full level has left its queue:
	// it is cancelled.
	check("an ask", b.Submit(orderbook.Order{ID: 20, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 200, Qty: 1}, nil), "rested:20@200×1")
	check("a buy stop-limit", b.Submit(orderbook.Order{ID: 21, Side: orderbook.Buy, Kind: orderbook.StopLimit, Stop: 200, Price: 100, Qty: 1}, nil), "pending:21@200×1")
	check("the trade that triggers it", b.Submit(orderbook.Order{ID: 22, Side: orderbook.Buy, Kind: orderbook.IOC, Price: 200, Qty: 1}, nil),
		"filled:22@200×1 triggered:21@200×1 cancelled:21@100×1/level quantity would overflow")
	check("a stop-limit already through the market", b.Submit(orderbook.Order{ID: 23, Side: orderbook.Buy, Kind: orderbook.StopLimit, Stop: 150, Price: 100, Qty: 1}, nil),
		"triggered:23@150×1 cancelled:23@100×1/level quantity would overflow")

	// A FOK order counts the quantity it could take across levels: 1 lot
	// and then math.MaxInt64 more, which once wrapped to a negative sum.
	check("a small ask", b.Submit(orderbook.Order{ID: 30, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 300, Qty: 1}, nil), "rested:30@300×1")
	b.AddOversized(orderbook.Order{ID: 31, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 301, Qty: full})
	check("a FOK across both", b.Submit(orderbook.Order{ID: 32, Side: orderbook.Buy, Kind: orderbook.FOK, Price: 301, Qty: 2}, nil),
		"filled:32@300×1 filled:32@301×1")
}
