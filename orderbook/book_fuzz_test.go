package orderbook_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/otlpgo/otlpgo/orderbook"
)

// Values at and around every limit a command's numbers meet: zero, one,
// negative, MaxQty and its neighbours, the int64 limits, and ordinary
// values so that orders also meet each other.
var (
	limitPrices = []orderbook.Price{0, 1, -1, 2, 99, 100, 101, math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
		orderbook.Price(orderbook.MaxQty), 1 << 62}
	limitQtys = []orderbook.Qty{0, 1, -1, 2, 7, orderbook.MaxQty - 1, orderbook.MaxQty, orderbook.MaxQty + 1, math.MaxInt64, math.MinInt64,
		math.MaxInt64 - orderbook.MaxQty}
	limitIDs = []orderbook.OrderID{1, 2, 3, 4, 5, 6, 7, 0, math.MaxUint64}
	// Quantities of the orders that stand for a level of millions of
	// orders (AddOversized): full, full but for MaxQty, and near that.
	oversizedQtys = []orderbook.Qty{math.MaxInt64, math.MaxInt64 - orderbook.MaxQty, math.MaxInt64 - orderbook.MaxQty + 1, math.MaxInt64 - 1,
		orderbook.MaxQty + 1, 1 << 62}
)

// pick returns xs[b mod len(xs)].
func pick[T any](xs []T, b byte) T { return xs[int(b)%len(xs)] }

// nearLimits decodes fuzz bytes into a book, its reference, and commands.
// The first byte picks the self-trade prevention policy and which of
// three oversized orders (AddOversized) the book starts with: a bid, an
// ask above it, and a pending sell stop, at prices and quantities from
// the next three bytes. Each command then takes five bytes: op and kind,
// side and ID, price, stop price, and quantity and owner.
type nearLimits struct {
	book      *orderbook.Book
	ref       *refBook
	cmds      []orderbook.Command
	oversized bool
}

func decodeNearLimits(data []byte) nearLimits {
	var n nearLimits
	if len(data) < 4 {
		data = append(data, make([]byte, 4-len(data))...)
	}
	stp := orderbook.STP(data[0] % 3)
	n.book, n.ref = orderbook.NewBook(stp), &refBook{stp: stp}
	flags := data[0] / 3
	add := func(o orderbook.Order) {
		if !n.book.AddOversized(o) {
			panic("AddOversized refused an order on an empty level")
		}
		n.oversized = true
		if o.Kind == orderbook.Stop {
			n.ref.stops = append(n.ref.stops, o)
			return
		}
		n.ref.resting = append(n.ref.resting, refOrder{o.ID, o.Side, o.Price, o.Qty, o.Owner})
	}
	bid := max(1, pick(limitPrices, data[1]))
	if flags&1 != 0 {
		add(orderbook.Order{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: bid, Qty: pick(oversizedQtys, data[3])})
	}
	if ask := max(1, pick(limitPrices, data[2])); flags&2 != 0 && (flags&1 == 0 || ask > bid) {
		add(orderbook.Order{ID: 2, Side: orderbook.Sell, Kind: orderbook.Limit, Price: ask, Qty: pick(oversizedQtys, data[3]/16)})
	}
	if flags&4 != 0 {
		add(orderbook.Order{ID: 3, Side: orderbook.Sell, Kind: orderbook.Stop, Stop: bid, Qty: pick(oversizedQtys, data[3]/4)})
	}
	for data = data[4:]; len(data) >= 5; data = data[5:] {
		o := orderbook.Order{
			Kind:  orderbook.Kind(data[0] / 3 % 9), // 0 and 8 are invalid
			Side:  orderbook.Side(data[1] % 3),     // 0 is invalid
			ID:    pick(limitIDs, data[1]/3),
			Price: pick(limitPrices, data[2]),
			Stop:  pick(limitPrices, data[3]),
			Qty:   pick(limitQtys, data[4]),
			Owner: uint64(data[4]/16) % 3,
		}
		n.cmds = append(n.cmds, orderbook.Command{Op: orderbook.Op(1 + data[0]%3), Order: o})
	}
	return n
}

// FuzzBookNearLimits runs commands whose prices, quantities and IDs sit
// at and around every limit (0, 1, -1, MaxQty and its neighbours, the
// int64 limits), on books that may start with levels holding nearly
// math.MaxInt64 lots, against the reference book: after every command
// the events and depth must be the reference's, and the book's invariants
// must hold. At the end a book without oversized orders must restore
// from its snapshot.
func FuzzBookNearLimits(f *testing.F) {
	cmd := func(op orderbook.Op, kind orderbook.Kind, side orderbook.Side, id, price, stop, qty, owner int) []byte {
		return []byte{byte(op-1) + 3*byte(kind), byte(side) + 3*byte(id), byte(price), byte(stop), byte(qty) + 16*byte(owner)}
	}
	idx := func(xs any, v any) int {
		switch xs := xs.(type) {
		case []orderbook.Price:
			return slices.Index(xs, v.(orderbook.Price))
		case []orderbook.Qty:
			return slices.Index(xs, v.(orderbook.Qty))
		}
		return -1
	}
	p := func(v orderbook.Price) int { return idx(limitPrices, v) }
	q := func(v orderbook.Qty) int { return idx(limitQtys, v) }
	// A full bid level at 100 (MaxInt64-MaxQty), filled to the limit, then
	// one lot too many, a modify onto it, and a FOK across it.
	f.Add(slices.Concat([]byte{3 * 1, byte(p(100)), byte(p(101)), byte(slices.Index(oversizedQtys, math.MaxInt64-orderbook.MaxQty))},
		cmd(orderbook.OpSubmit, orderbook.Limit, orderbook.Buy, 4, p(100), 0, q(orderbook.MaxQty), 0),
		cmd(orderbook.OpSubmit, orderbook.Limit, orderbook.Buy, 5, p(100), 0, q(1), 0),
		cmd(orderbook.OpSubmit, orderbook.Limit, orderbook.Buy, 5, p(99), 0, q(7), 1),
		cmd(orderbook.OpModify, 0, 0, 5, p(100), 0, q(7), 0),
		cmd(orderbook.OpSubmit, orderbook.FOK, orderbook.Sell, 6, p(1), 0, q(orderbook.MaxQty), 2),
		cmd(orderbook.OpSubmit, orderbook.Market, orderbook.Sell, 7, 0, 0, q(orderbook.MaxQty), 0)))
	// Both sides and a sell stop oversized; trades that trigger the stop.
	f.Add(slices.Concat([]byte{3 * 7, byte(p(100)), byte(p(math.MaxInt64)), 0x21},
		cmd(orderbook.OpSubmit, orderbook.StopLimit, orderbook.Buy, 4, p(100), p(math.MaxInt64), q(orderbook.MaxQty), 1),
		cmd(orderbook.OpSubmit, orderbook.IOC, orderbook.Sell, 5, p(100), 0, q(orderbook.MaxQty), 2),
		cmd(orderbook.OpSubmit, orderbook.FOK, orderbook.Buy, 6, p(math.MaxInt64), 0, q(orderbook.MaxQty), 0),
		cmd(orderbook.OpCancel, 0, 0, 0, 0, 0, 0, 0)))
	// Plain books at the price limits.
	f.Add(slices.Concat([]byte{2, 0, 0, 0},
		cmd(orderbook.OpSubmit, orderbook.Limit, orderbook.Sell, 0, p(math.MaxInt64), 0, q(orderbook.MaxQty), 0),
		cmd(orderbook.OpSubmit, orderbook.Limit, orderbook.Buy, 1, p(math.MaxInt64-1), 0, q(orderbook.MaxQty), 1),
		cmd(orderbook.OpSubmit, orderbook.Stop, orderbook.Buy, 2, 0, p(math.MaxInt64), q(1), 2),
		cmd(orderbook.OpSubmit, orderbook.PostOnly, orderbook.Buy, 3, p(math.MaxInt64), 0, q(1), 0),
		cmd(orderbook.OpSubmit, orderbook.Market, orderbook.Buy, 4, p(math.MinInt64), 0, q(orderbook.MaxQty+1), 0),
		cmd(orderbook.OpSubmit, orderbook.Market, orderbook.Buy, 4, p(math.MinInt64), 0, q(orderbook.MaxQty), 0),
		cmd(orderbook.OpModify, 0, 0, 1, p(math.MaxInt64), 0, q(math.MaxInt64), 0),
		cmd(orderbook.OpModify, 0, 0, 1, p(-1), 0, q(1), 0),
		cmd(orderbook.OpSubmit, 8, 0, 8, p(1), p(1), q(-1), 0)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := decodeNearLimits(data)
		b, r := n.book, n.ref
		if err := b.CheckInvariants(); err != nil {
			t.Fatalf("setup: %v", err)
		}
		var events []orderbook.Event
		for i, c := range n.cmds {
			events = b.Apply(c, events[:0])
			if want := r.apply(c); !slices.Equal(events, want) {
				t.Fatalf("command %d %v %+v:\n got %s\nwant %s", i, c.Op, c.Order, describe(events), describe(want))
			}
			if err := b.CheckInvariants(); err != nil {
				t.Fatalf("command %d %v %+v: %v", i, c.Op, c.Order, err)
			}
			checkInvariants(t, b)
			for _, s := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
				if got, want := b.Depth(s, math.MaxInt, nil), r.depth(s); !slices.Equal(got, want) {
					t.Fatalf("command %d %v %+v: %v depth\n got %+v\nwant %+v", i, c.Op, c.Order, s, got, want)
				}
			}
		}
		if n.oversized {
			return // RestoreBook refuses an order above MaxQty, as it should
		}
		snap := b.AppendSnapshot(nil)
		restored, err := orderbook.RestoreBook(snap)
		if err != nil {
			t.Fatalf("RestoreBook of a real snapshot: %v", err)
		}
		if !bytes.Equal(restored.AppendSnapshot(nil), snap) {
			t.Fatal("the restored book's snapshot differs")
		}
	})
}

// TestNearLimitsSeedsDecode keeps the fuzz target's seed encoding honest:
// the first seed must start with an oversized bid and reach an overflow.
func TestNearLimitsSeedsDecode(t *testing.T) {
	n := decodeNearLimits(slices.Concat([]byte{3, 5, 6, 1}, []byte{3, 1 + 3*3, 5, 0, 6}, []byte{3, 1 + 3*4, 5, 0, 1}))
	if !n.oversized || len(n.cmds) != 2 {
		t.Fatalf("decoded %d commands, oversized %t", len(n.cmds), n.oversized)
	}
	var ev []orderbook.Event
	for _, c := range n.cmds {
		ev = n.book.Apply(c, ev)
	}
	if got := describe(ev); got != fmt.Sprintf("rested:4@100×%d rejected:5@100×1/level quantity would overflow", orderbook.MaxQty) {
		t.Fatalf("events %s", got)
	}
}
