package orderbook_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otlpgo/otlpgo/orderbook"
)

// refBook is a deliberately simple reference: resting orders in one slice
// in arrival order, best price found by linear scans; pending stop orders
// in another, the next to trigger found by linear scans too.
type refBook struct {
	resting []refOrder
	stops   []orderbook.Order // pending stop orders, in arrival order
	last    orderbook.Price   // last trade price, 0 before any
	stp     orderbook.STP
}

func (r *refBook) findStop(id orderbook.OrderID) int {
	return slices.IndexFunc(r.stops, func(o orderbook.Order) bool { return o.ID == id })
}

func (r *refBook) triggered(s orderbook.Side, stop orderbook.Price) bool {
	if r.last == 0 {
		return false
	}
	if s == orderbook.Buy {
		return r.last >= stop
	}
	return r.last <= stop
}

// submit is the reference for Book.Submit: the order, then any stop orders
// its trades trigger, one at a time, re-checked against the last price
// before each: buy stops lowest first, then sell stops highest first,
// earliest first at one stop price.
func (r *refBook) submit(o orderbook.Order) []orderbook.Event {
	ev := r.place(o, false)
	for {
		next := -1
		for i, st := range r.stops {
			if st.Side == orderbook.Buy && r.triggered(st.Side, st.Stop) && (next < 0 || st.Stop < r.stops[next].Stop) {
				next = i
			}
		}
		if next < 0 {
			for i, st := range r.stops {
				if st.Side == orderbook.Sell && r.triggered(st.Side, st.Stop) && (next < 0 || st.Stop > r.stops[next].Stop) {
					next = i
				}
			}
		}
		if next < 0 {
			return ev
		}
		st := r.stops[next]
		r.stops = slices.Delete(r.stops, next, next+1)
		ev = append(ev, orderbook.Event{Kind: orderbook.Triggered, Order: st.ID, Price: st.Stop, Qty: st.Qty})
		ev = append(ev, r.place(converted(st), true)...)
	}
}

// converted is a triggered stop order as it enters the book.
func converted(o orderbook.Order) orderbook.Order {
	if o.Kind == orderbook.Stop {
		o.Kind, o.Price = orderbook.Market, 0
	} else {
		o.Kind = orderbook.Limit
	}
	o.Stop = 0
	return o
}

type refOrder struct {
	id    orderbook.OrderID
	side  orderbook.Side
	price orderbook.Price
	qty   orderbook.Qty
	owner uint64
}

func (r *refBook) find(id orderbook.OrderID) int {
	return slices.IndexFunc(r.resting, func(o refOrder) bool { return o.id == id })
}

// bestMaker returns the index of the best resting order on side s: best
// price, then earliest.
func (r *refBook) bestMaker(s orderbook.Side) int {
	best := -1
	for i, o := range r.resting {
		if o.side != s {
			continue
		}
		if best < 0 || (s == orderbook.Buy && o.price > r.resting[best].price) ||
			(s == orderbook.Sell && o.price < r.resting[best].price) {
			best = i
		}
	}
	return best
}

func crosses(maker refOrder, o orderbook.Order) bool {
	if o.Kind == orderbook.Market {
		return true
	}
	if maker.side == orderbook.Sell {
		return maker.price <= o.Price
	}
	return maker.price >= o.Price
}

func other(s orderbook.Side) orderbook.Side {
	if s == orderbook.Buy {
		return orderbook.Sell
	}
	return orderbook.Buy
}

// overflows reports whether adding q to the quantities qs makes a total
// above math.MaxInt64, summing in uint64 (each total the book holds is an
// int64, so one more int64 cannot wrap a uint64).
func overflows(q orderbook.Qty, qs ...orderbook.Qty) bool {
	sum := uint64(q)
	for _, x := range qs {
		if sum += uint64(x); sum > math.MaxInt64 {
			return true
		}
	}
	return false
}

// restingQtys returns the quantities resting on side s at price p, but
// for the order skip.
func (r *refBook) restingQtys(s orderbook.Side, p orderbook.Price, skip orderbook.OrderID) []orderbook.Qty {
	var qs []orderbook.Qty
	for _, o := range r.resting {
		if o.side == s && o.price == p && o.id != skip {
			qs = append(qs, o.qty)
		}
	}
	return qs
}

// place is submit without triggering stop orders afterwards. fromStop
// says o is a triggered stop order taken off its queue.
func (r *refBook) place(o orderbook.Order, fromStop bool) []orderbook.Event {
	rej := func(reason orderbook.Reason) []orderbook.Event {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: o.ID, Price: o.Price, Qty: o.Qty, Reason: reason}}
	}
	isStop := o.Kind == orderbook.Stop || o.Kind == orderbook.StopLimit
	if o.ID == 0 || o.Qty <= 0 || o.Qty > orderbook.MaxQty || (o.Side != orderbook.Buy && o.Side != orderbook.Sell) ||
		o.Kind < orderbook.Limit || o.Kind > orderbook.StopLimit || (o.Kind != orderbook.Market && o.Kind != orderbook.Stop && o.Price <= 0) ||
		(isStop && o.Stop <= 0) {
		return rej(orderbook.ReasonInvalid)
	}
	if r.find(o.ID) >= 0 || r.findStop(o.ID) >= 0 {
		return rej(orderbook.ReasonDuplicateID)
	}
	var ev []orderbook.Event
	if isStop {
		if !r.triggered(o.Side, o.Stop) {
			var qs []orderbook.Qty
			for _, st := range r.stops {
				if st.Side == o.Side && st.Stop == o.Stop {
					qs = append(qs, st.Qty)
				}
			}
			if overflows(o.Qty, qs...) {
				return rej(orderbook.ReasonOverflow)
			}
			r.stops = append(r.stops, o)
			return []orderbook.Event{{Kind: orderbook.Pending, Order: o.ID, Price: o.Stop, Qty: o.Qty}}
		}
		ev = append(ev, orderbook.Event{Kind: orderbook.Triggered, Order: o.ID, Price: o.Stop, Qty: o.Qty})
		o = converted(o)
		fromStop = true
	}
	opp := other(o.Side)
	if o.Kind == orderbook.PostOnly {
		if i := r.bestMaker(opp); i >= 0 && crosses(r.resting[i], o) {
			return rej(orderbook.ReasonWouldTake)
		}
	}
	if o.Kind == orderbook.FOK {
		// Walk the makers in the order they would match, as matching would.
		var makers []refOrder
		for _, m := range r.resting {
			if m.side == opp && crosses(m, o) {
				makers = append(makers, m)
			}
		}
		slices.SortStableFunc(makers, func(a, b refOrder) int {
			if opp == orderbook.Sell {
				return cmp.Compare(a.price, b.price) // not a subtraction: prices near the int64 limits would wrap it
			}
			return cmp.Compare(b.price, a.price)
		})
		var avail orderbook.Qty
		for _, m := range makers {
			if avail >= o.Qty {
				break // enough; and summing on could overflow
			}
			if o.Owner != 0 && m.owner == o.Owner {
				if r.stp == orderbook.CancelOldest {
					continue
				}
				break
			}
			avail += min(m.qty, o.Qty-avail) // an oversized maker would wrap a plain sum
		}
		if avail < o.Qty {
			return rej(orderbook.ReasonNotFillable)
		}
	}
	left := o.Qty
	for left > 0 {
		i := r.bestMaker(opp)
		if i < 0 || !crosses(r.resting[i], o) {
			break
		}
		m := &r.resting[i]
		if o.Owner != 0 && m.owner == o.Owner {
			if r.stp != orderbook.CancelNewest {
				ev = append(ev, orderbook.Event{Kind: orderbook.Cancelled, Order: m.id, Price: m.price, Qty: m.qty, Reason: orderbook.ReasonSelfTrade})
				r.resting = slices.Delete(r.resting, i, i+1)
			}
			if r.stp != orderbook.CancelOldest {
				return append(ev, orderbook.Event{Kind: orderbook.Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: orderbook.ReasonSelfTrade})
			}
			continue
		}
		q := min(left, m.qty)
		ev = append(ev, orderbook.Event{Kind: orderbook.Filled, Order: o.ID, Maker: m.id, Price: m.price, Qty: q})
		r.last = m.price
		left -= q
		m.qty -= q
		if m.qty == 0 {
			r.resting = slices.Delete(r.resting, i, i+1)
		}
	}
	if left == 0 {
		return ev
	}
	if o.Kind == orderbook.Limit || o.Kind == orderbook.PostOnly {
		if overflows(left, r.restingQtys(o.Side, o.Price, 0)...) {
			if fromStop || left != o.Qty {
				return append(ev, orderbook.Event{Kind: orderbook.Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: orderbook.ReasonOverflow})
			}
			return rej(orderbook.ReasonOverflow)
		}
		r.resting = append(r.resting, refOrder{o.ID, o.Side, o.Price, left, o.Owner})
		return append(ev, orderbook.Event{Kind: orderbook.Rested, Order: o.ID, Price: o.Price, Qty: left})
	}
	return append(ev, orderbook.Event{Kind: orderbook.Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: orderbook.ReasonUnfilled})
}

func (r *refBook) modify(id orderbook.OrderID, price orderbook.Price, qty orderbook.Qty) []orderbook.Event {
	if r.findStop(id) >= 0 {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: id, Price: price, Qty: qty, Reason: orderbook.ReasonStopPending}}
	}
	i := r.find(id)
	if i < 0 {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: id, Price: price, Qty: qty, Reason: orderbook.ReasonUnknownID}}
	}
	if price <= 0 || qty <= 0 || qty > orderbook.MaxQty {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: id, Price: price, Qty: qty, Reason: orderbook.ReasonInvalid}}
	}
	o := r.resting[i]
	if price == o.price && qty <= o.qty {
		r.resting[i].qty = qty
		return []orderbook.Event{{Kind: orderbook.Reduced, Order: id, Price: price, Qty: qty}}
	}
	if overflows(qty, r.restingQtys(o.side, price, id)...) {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: id, Price: price, Qty: qty, Reason: orderbook.ReasonOverflow}}
	}
	r.resting = slices.Delete(r.resting, i, i+1)
	ev := []orderbook.Event{{Kind: orderbook.Cancelled, Order: id, Price: o.price, Qty: o.qty, Reason: orderbook.ReasonReplaced}}
	return append(ev, r.submit(orderbook.Order{ID: id, Side: o.side, Kind: orderbook.Limit, Price: price, Qty: qty, Owner: o.owner})...)
}

func (r *refBook) cancel(id orderbook.OrderID) []orderbook.Event {
	if i := r.findStop(id); i >= 0 {
		o := r.stops[i]
		r.stops = slices.Delete(r.stops, i, i+1)
		return []orderbook.Event{{Kind: orderbook.Cancelled, Order: id, Price: o.Stop, Qty: o.Qty, Reason: orderbook.ReasonCancelRequested}}
	}
	i := r.find(id)
	if i < 0 {
		return []orderbook.Event{{Kind: orderbook.Rejected, Order: id, Reason: orderbook.ReasonUnknownID}}
	}
	o := r.resting[i]
	r.resting = slices.Delete(r.resting, i, i+1)
	return []orderbook.Event{{Kind: orderbook.Cancelled, Order: id, Price: o.price, Qty: o.qty, Reason: orderbook.ReasonCancelRequested}}
}

// depth computes a side's levels, best first.
func (r *refBook) depth(s orderbook.Side) []orderbook.Level {
	byPrice := map[orderbook.Price]*orderbook.Level{}
	for _, o := range r.resting {
		if o.side != s {
			continue
		}
		l := byPrice[o.price]
		if l == nil {
			l = &orderbook.Level{Price: o.price}
			byPrice[o.price] = l
		}
		l.Qty += o.qty
		l.Orders++
	}
	var out []orderbook.Level
	for _, l := range byPrice {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b orderbook.Level) int {
		if s == orderbook.Buy {
			return cmp.Compare(b.Price, a.Price) // not a subtraction: prices near the int64 limits would wrap it
		}
		return cmp.Compare(a.Price, b.Price)
	})
	return out
}

// checkInvariants asserts what holds of any book after a command: never
// crossed, and the resting count matches the depth.
func checkInvariants(t *testing.T, b *orderbook.Book) {
	t.Helper()
	if spread, ok := b.Spread(); ok && spread <= 0 {
		t.Fatalf("book crossed: spread %d", spread)
	}
	n := 0
	for _, s := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
		for _, l := range b.Depth(s, 1<<30, nil) {
			if l.Qty <= 0 || l.Orders <= 0 {
				t.Fatalf("empty level in depth: %+v", l)
			}
			n += l.Orders
		}
	}
	if n != b.Len() {
		t.Fatalf("depth holds %d orders, Len says %d", n, b.Len())
	}
}

// TestDifferentialAgainstReference feeds random commands to the book and
// the reference and requires identical events and depth after every
// command, the book's internal invariants, and the conservation of
// quantity: submitted = filled + resting + cancelled, where a fill of q
// counts twice, once for the taker and once for the maker (rejected orders
// submit nothing). Most streams use 11 prices so that crossing is
// frequent; a shorter one spreads orders over 400 prices so that the book
// grows deep and levels are found and removed far from the best.
func TestDifferentialAgainstReference(t *testing.T) {
	type stream struct {
		seed     uint64
		prices   int
		commands int
	}
	streams := []stream{{uint64(time.Now().UnixNano()), 11, 100_000}, {1, 11, 100_000}, {2, 11, 100_000}, {3, 11, 100_000}, {4, 400, 100_000}}
	for _, st := range streams {
		seed, prices, commands := st.seed, st.prices, st.commands
		if testing.Short() {
			commands /= 10
		}
		t.Run(fmt.Sprintf("seed=%d/prices=%d", seed, prices), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 5))
			stp := orderbook.STP(seed % 3)
			t.Logf("self-trade prevention policy %d", stp)
			b, r := orderbook.NewBook(stp), &refBook{stp: stp}
			var events []orderbook.Event
			var submitted, filled, cancelled orderbook.Qty
			selfTrades := 0
			nextID := orderbook.OrderID(1)
			kinds := []orderbook.Kind{orderbook.Limit, orderbook.Limit, orderbook.Limit, orderbook.Market, orderbook.IOC, orderbook.FOK, orderbook.PostOnly,
				orderbook.Stop, orderbook.StopLimit}
			triggers := 0
			for c := range commands {
				var want []orderbook.Event
				events = events[:0]
				if k := rng.IntN(10); k < 3 && nextID > 1 {
					id := orderbook.OrderID(1 + rng.IntN(int(nextID)))
					if k == 0 {
						want = r.cancel(id)
						events = b.Cancel(id, events)
					} else {
						// Modify: often a reduction in place, sometimes a move.
						price, qty := orderbook.Price(95+rng.IntN(prices)), orderbook.Qty(rng.IntN(11))
						if i := r.find(id); i >= 0 && rng.IntN(2) == 0 {
							price = r.resting[i].price
							qty = orderbook.Qty(1 + rng.IntN(int(r.resting[i].qty)))
						}
						if i := r.find(id); i >= 0 && qty > 0 {
							// What the order had resting counts as submitted again
							// only for the part that grows; the accounting below
							// treats a replace as cancel plus a new submission.
							o := r.resting[i]
							if price != o.price || qty > o.qty {
								submitted += qty
							} else {
								submitted -= o.qty - qty // a reduction takes quantity off the book
							}
						}
						want = r.modify(id, price, qty)
						events = b.Modify(id, price, qty, events)
					}
				} else {
					o := orderbook.Order{
						ID:    nextID,
						Side:  orderbook.Side(1 + rng.IntN(2)),
						Kind:  kinds[rng.IntN(len(kinds))],
						Price: orderbook.Price(95 + rng.IntN(prices)),
						Qty:   orderbook.Qty(1 + rng.IntN(10)),
						Owner: uint64(rng.IntN(4)),                    // 0 (none) or one of three accounts
						Stop:  orderbook.Price(95 + rng.IntN(prices)), // used by stop orders only
					}
					switch rng.IntN(50) {
					case 0:
						o.ID = orderbook.OrderID(1 + rng.IntN(int(nextID))) // maybe a duplicate
					case 1:
						o.Qty = 0 // invalid
					default:
						nextID++
					}
					want = r.submit(o)
					events = b.Submit(o, events)
					for _, e := range events {
						if e.Kind == orderbook.Filled && e.Order == o.ID && o.Kind != orderbook.Market && o.Kind != orderbook.Stop &&
							(o.Side == orderbook.Buy && e.Price > o.Price || o.Side == orderbook.Sell && e.Price < o.Price) {
							t.Fatalf("command %d: %+v traded through the limit of %+v", c, e, o)
						}
					}
					if len(want) == 0 || want[0].Kind != orderbook.Rejected {
						submitted += o.Qty
					}
				}
				if !slices.Equal(events, want) {
					t.Fatalf("command %d: events\n got %+v\nwant %+v", c, events, want)
				}
				for _, e := range events {
					if e.Reason == orderbook.ReasonSelfTrade {
						selfTrades++
					}
					if e.Kind == orderbook.Triggered {
						triggers++
					}
					switch {
					case e.Kind == orderbook.Filled:
						filled += 2 * e.Qty // from the taker and from the maker
					case e.Kind == orderbook.Cancelled:
						cancelled += e.Qty
					}
				}
				for _, s := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
					if got, want := b.Depth(s, 1<<30, nil), r.depth(s); !slices.Equal(got, want) {
						t.Fatalf("command %d: %v depth\n got %+v\nwant %+v", c, s, got, want)
					}
				}
				checkInvariants(t, b)
				if err := b.CheckInvariants(); err != nil {
					t.Fatalf("command %d: %v", c, err)
				}
				var resting orderbook.Qty
				for _, o := range r.resting {
					resting += o.qty
				}
				for _, o := range r.stops {
					resting += o.Qty // pending stop orders hold their quantity too
				}
				if submitted != filled+resting+cancelled {
					t.Fatalf("command %d: submitted %d != filled %d + resting %d + cancelled %d", c, submitted, filled, resting, cancelled)
				}
			}
			if selfTrades == 0 || triggers == 0 {
				t.Fatalf("%d self-trades prevented, %d stop orders triggered: the stream does not exercise them", selfTrades, triggers)
			}
			t.Logf("%d commands, %d self-trade cancellations, %d stop orders triggered", commands, selfTrades, triggers)
		})
	}
}

func TestZeroBookIsUsable(t *testing.T) {
	var b orderbook.Book
	if ev := b.Cancel(1, nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonUnknownID {
		t.Fatalf("Cancel on the zero Book: %+v", ev)
	}
	for i, p := range []orderbook.Price{100, 102, 101} {
		b.Submit(orderbook.Order{ID: orderbook.OrderID(1 + i), Side: orderbook.Buy, Kind: orderbook.Limit, Price: p, Qty: 1}, nil)
	}
	if d := b.Depth(orderbook.Buy, 3, nil); len(d) != 3 || d[0].Price != 102 || d[2].Price != 100 {
		t.Fatalf("bids of the zero Book out of order: %+v", d)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

func TestBookEdges(t *testing.T) {
	b := orderbook.NewBook()
	if _, _, ok := b.Best(orderbook.Buy); ok {
		t.Error("empty book has a best bid")
	}
	if _, ok := b.Spread(); ok {
		t.Error("empty book has a spread")
	}
	for _, o := range []orderbook.Order{
		{ID: 0, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 1, Qty: 1},
		{ID: 1, Side: 9, Kind: orderbook.Limit, Price: 1, Qty: 1},
		{ID: 1, Side: orderbook.Buy, Kind: 9, Price: 1, Qty: 1},
		{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 0, Qty: 1},
		{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 1, Qty: -1},
		{ID: 1, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 1, Qty: orderbook.MaxQty + 1},
	} {
		ev := b.Submit(o, nil)
		if len(ev) != 1 || ev[0].Kind != orderbook.Rejected || ev[0].Reason != orderbook.ReasonInvalid || b.Len() != 0 {
			t.Errorf("Submit(%+v) = %+v, want one Rejected/invalid and no change", o, ev)
		}
	}
	// A market order on an empty book is cancelled whole; one with a price
	// field ignores it.
	ev := b.Submit(orderbook.Order{ID: 5, Side: orderbook.Sell, Kind: orderbook.Market, Qty: 3}, nil)
	if len(ev) != 1 || ev[0].Kind != orderbook.Cancelled || ev[0].Qty != 3 || ev[0].Reason != orderbook.ReasonUnfilled {
		t.Errorf("market order on an empty book: %+v", ev)
	}
	for i := range 5 {
		b.Submit(orderbook.Order{ID: orderbook.OrderID(10 + i), Side: orderbook.Buy, Kind: orderbook.Limit, Price: orderbook.Price(90 + i), Qty: 1}, nil)
	}
	if d := b.Depth(orderbook.Buy, 2, nil); len(d) != 2 || d[0].Price != 94 || d[1].Price != 93 {
		t.Errorf("Depth(buy, 2) = %+v, want 94 then 93", d)
	}
	if ev := b.Cancel(99, nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonUnknownID {
		t.Errorf("Cancel(unknown) = %+v", ev)
	}
}

func TestNamesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range []fmt.Stringer{orderbook.Buy, orderbook.Sell, orderbook.Side(0),
		orderbook.Limit, orderbook.Market, orderbook.IOC, orderbook.FOK, orderbook.PostOnly, orderbook.Stop, orderbook.StopLimit, orderbook.Kind(0),
		orderbook.Filled, orderbook.Rested, orderbook.Cancelled, orderbook.Rejected, orderbook.Reduced, orderbook.Pending, orderbook.Triggered, orderbook.EventKind(0),
		orderbook.ReasonCancelRequested, orderbook.ReasonUnfilled, orderbook.ReasonDuplicateID, orderbook.ReasonUnknownID,
		orderbook.ReasonInvalid, orderbook.ReasonWouldTake, orderbook.ReasonNotFillable, orderbook.ReasonReplaced,
		orderbook.ReasonSelfTrade, orderbook.ReasonStopPending, orderbook.ReasonOverflow, orderbook.Reason(99),
		orderbook.OpSubmit, orderbook.OpCancel, orderbook.OpModify, orderbook.Op(0)} {
		name := s.String()
		if name == "" || seen[name] {
			t.Errorf("%#v: name %q empty or repeated", s, name)
		}
		seen[name] = true
	}
	if orderbook.ReasonNone.String() != "" {
		t.Error("ReasonNone has a name")
	}
}

func TestStopOrders(t *testing.T) {
	b := orderbook.NewBook()
	submit := func(o orderbook.Order) []orderbook.Event {
		t.Helper()
		ev := b.Submit(o, nil)
		if err := b.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	kinds := func(ev []orderbook.Event) string {
		var s []string
		for _, e := range ev {
			s = append(s, fmt.Sprintf("%v:%d@%d", e.Kind, e.Order, e.Price))
		}
		return strings.Join(s, " ")
	}
	// Before any trade nothing triggers, whatever the stop price.
	if got := kinds(submit(orderbook.Order{ID: 1, Side: orderbook.Sell, Kind: orderbook.Stop, Qty: 1, Stop: 1000})); got != "pending:1@1000" {
		t.Fatalf("sell stop before any trade: %s", got)
	}
	if _, ok := b.LastPrice(); ok {
		t.Fatal("a last price before any trade")
	}
	// Buy stops at 102 and 101 (arriving in that order) and a sell stop at
	// 99; asks to take.
	submit(orderbook.Order{ID: 2, Side: orderbook.Buy, Kind: orderbook.Stop, Qty: 1, Stop: 102})
	submit(orderbook.Order{ID: 3, Side: orderbook.Buy, Kind: orderbook.StopLimit, Price: 105, Qty: 1, Stop: 101})
	for i, p := range []orderbook.Price{101, 102, 103} {
		submit(orderbook.Order{ID: orderbook.OrderID(10 + i), Side: orderbook.Sell, Kind: orderbook.Limit, Price: p, Qty: 1})
	}
	// A trade at 101 triggers the lower buy stop, whose fill at 102 then
	// triggers the other; the sell stop at 1000 is triggered by the first
	// trade too, after the buy stops; as a market order it finds no bids,
	// so it is cancelled unfilled.
	got := kinds(submit(orderbook.Order{ID: 20, Side: orderbook.Buy, Kind: orderbook.IOC, Price: 101, Qty: 1}))
	want := "filled:20@101 triggered:3@101 filled:3@102 triggered:2@102 filled:2@103 triggered:1@1000 cancelled:1@0"
	if got != want {
		t.Fatalf("cascade:\n got %s\nwant %s", got, want)
	}
	if last, ok := b.LastPrice(); !ok || last != 103 {
		t.Fatalf("last price %d, %v; want 103", last, ok)
	}
	// Already through the market: triggered at once.
	submit(orderbook.Order{ID: 30, Side: orderbook.Sell, Kind: orderbook.Limit, Price: 110, Qty: 1})
	if got := kinds(submit(orderbook.Order{ID: 31, Side: orderbook.Buy, Kind: orderbook.Stop, Qty: 1, Stop: 100})); got != "triggered:31@100 filled:31@110" {
		t.Fatalf("a stop already through the market: %s", got)
	}
	// A pending stop is cancelled at its stop price, cannot be modified,
	// and holds its ID against duplicates.
	submit(orderbook.Order{ID: 40, Side: orderbook.Buy, Kind: orderbook.StopLimit, Price: 120, Qty: 2, Stop: 115})
	if ev := b.Modify(40, 121, 2, nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonStopPending {
		t.Fatalf("Modify of a pending stop: %+v", ev)
	}
	if ev := submit(orderbook.Order{ID: 40, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 1, Qty: 1}); ev[0].Reason != orderbook.ReasonDuplicateID {
		t.Fatalf("an order reusing a pending stop's ID: %+v", ev)
	}
	if ev := b.Cancel(40, nil); len(ev) != 1 || ev[0].Kind != orderbook.Cancelled || ev[0].Price != 115 || ev[0].Qty != 2 {
		t.Fatalf("Cancel of a pending stop: %+v", ev)
	}
	for _, o := range []orderbook.Order{
		{ID: 50, Side: orderbook.Buy, Kind: orderbook.Stop, Qty: 1},                          // no stop price
		{ID: 51, Side: orderbook.Buy, Kind: orderbook.StopLimit, Qty: 1, Stop: 5},            // no limit
		{ID: 52, Side: orderbook.Buy, Kind: orderbook.StopLimit, Price: 5, Qty: 1, Stop: -1}, // negative stop
	} {
		if ev := submit(o); len(ev) != 1 || ev[0].Reason != orderbook.ReasonInvalid {
			t.Errorf("Submit(%+v) = %+v, want Rejected/invalid", o, ev)
		}
	}
}
