package orderbook

import (
	"fmt"
	"slices"

	"github.com/otlpgo/otlpgo/internal/checked"
)

// Book is a limit order book for one instrument with price-time priority:
// a better price matches first, and at one price the order that arrived
// first. Every call returns what happened as events, appended to a slice
// the caller passes (and may reuse, so a steady stream of commands does
// not allocate).
//
// A Book is not safe for concurrent use: one goroutine drives it (the
// Engine does so for many). The zero Book is an empty book with the
// default self-trade prevention policy, ready to use.
type Book struct {
	orders orderIndex // resting and pending stop orders
	bids   bookSide
	asks   bookSide
	// Stop orders waiting for their trigger, as levels by stop price with
	// the next to trigger last: buy stops lowest last, sell stops highest.
	buyStops  bookSide
	sellStops bookSide
	stops     int   // pending stop orders
	last      Price // the last trade price; 0 before the first trade
	// Free lists, owned by this book: steady-state orders and levels are
	// reused rather than allocated.
	freeOrders []*order
	freeLevels []*level
	stp        STP // immutable after NewBook
}

type order struct {
	id         OrderID
	owner      uint64
	side       Side
	kind       Kind  // Stop or StopLimit while pending; 0 when resting
	limit      Price // a pending StopLimit's limit price
	qty        Qty
	lvl        *level
	prev, next *order
}

type level struct {
	price      Price
	qty        Qty
	count      int
	head, tail *order
}

// bookSide keeps one side's levels sorted so that the best is last, which
// makes removing the best level (the common case) a truncation, and makes
// finding a level near the best (where most orders go) a short scan.
type bookSide struct {
	buy    bool
	levels []*level // bids ascending, asks descending: best last
}

// NewBook returns an empty book that prevents self-trades by the given
// policy (CancelNewest when none is given).
func NewBook(stp ...STP) *Book {
	policy := CancelNewest
	if len(stp) > 0 && stp[len(stp)-1] <= CancelBoth {
		policy = stp[len(stp)-1]
	}
	b := &Book{stp: policy}
	b.init()
	return b
}

// init orders the sides; the zero Book gets it on its first Submit.
func (b *Book) init() {
	b.bids.buy = true
	b.sellStops.buy = true // highest stop last, as bids; buy stops lowest last, as asks
}

func (b *Book) side(s Side) *bookSide {
	if s == Buy {
		return &b.bids
	}
	return &b.asks
}

func (b *Book) stopSide(s Side) *bookSide {
	if s == Buy {
		return &b.buyStops
	}
	return &b.sellStops
}

// sideOf returns the side that holds o: its book side while it rests, its
// stop side while it waits.
func (b *Book) sideOf(o *order) *bookSide {
	if o.kind != 0 {
		return b.stopSide(o.side)
	}
	return b.side(o.side)
}

func (s *bookSide) best() *level {
	if len(s.levels) == 0 {
		return nil
	}
	return s.levels[len(s.levels)-1]
}

// better reports whether price p is better than q on this side.
func (s *bookSide) better(p, q Price) bool {
	if s.buy {
		return p > q
	}
	return p < q
}

// crosses reports whether a taker on the other side with limit price
// limit can trade at price p of this side.
func (s *bookSide) crosses(p, limit Price) bool {
	if s.buy { // resting bids; taker sells at limit or better
		return p >= limit
	}
	return p <= limit
}

// levelChunk is how many levels a book allocates at once when its free
// list runs dry, as orderChunk is for orders.
const levelChunk = 64

func (b *Book) newLevel(p Price) *level {
	l := take(&b.freeLevels, levelChunk)
	l.price = p
	return l
}

// take returns a zeroed T from the free list, refilling the list with a
// chunk of n when it runs dry, so that a growing book allocates once per
// chunk rather than once per order or level.
func take[T any](free *[]*T, n int) *T {
	if len(*free) == 0 {
		chunk := make([]T, n)
		for i := range chunk {
			*free = append(*free, &chunk[n-1-i])
		}
	}
	last := len(*free) - 1
	v := (*free)[last]
	*free = (*free)[:last]
	var zero T
	*v = zero
	return v
}

// orderChunk is how many orders a book allocates at once when its free
// list runs dry, so that a growing book allocates once per chunk rather
// than once per order.
const orderChunk = 256

func (b *Book) newOrder() *order { return take(&b.freeOrders, orderChunk) }

// find returns the index of the level at p, or where it would be
// inserted, and whether it is there. It scans a few levels from the best
// and falls back to binary search for a deep book.
func (s *bookSide) find(p Price) (int, bool) {
	const scan = 8
	n := len(s.levels)
	for i := n - 1; i >= 0 && i >= n-scan; i-- {
		lp := s.levels[i].price
		if lp == p {
			return i, true
		}
		if s.better(p, lp) { // p is better than every level below i+1
			return i + 1, false
		}
	}
	if n <= scan {
		return 0, false
	}
	return slices.BinarySearchFunc(s.levels[:n-scan], p, func(x *level, p Price) int {
		switch {
		case x.price == p:
			return 0
		case s.better(p, x.price): // x is worse than p: it comes before
			return -1
		}
		return 1
	})
}

// levelFor returns the level at p, creating and inserting it if needed.
func (b *Book) levelFor(s *bookSide, p Price) *level {
	i, ok := s.find(p)
	if ok {
		return s.levels[i]
	}
	l := b.newLevel(p)
	s.levels = slices.Insert(s.levels, i, l)
	return l
}

// removeLevel takes an empty level out of its side.
func (b *Book) removeLevel(s *bookSide, l *level) {
	if n := len(s.levels); s.levels[n-1] == l {
		s.levels[n-1] = nil
		s.levels = s.levels[:n-1]
	} else {
		i, _ := s.find(l.price)
		s.levels = slices.Delete(s.levels, i, i+1)
	}
	b.freeLevels = append(b.freeLevels, l)
}

// unlink takes an order out of its level (and the level out of the side
// if it empties) and frees it.
func (b *Book) unlink(o *order) {
	l := o.lvl
	if o.prev != nil {
		o.prev.next = o.next
	} else {
		l.head = o.next
	}
	if o.next != nil {
		o.next.prev = o.prev
	} else {
		l.tail = o.prev
	}
	l.qty -= o.qty
	l.count--
	b.orders.del(o.id)
	if o.kind != 0 {
		b.stops--
	}
	if l.count == 0 {
		b.removeLevel(b.sideOf(o), l)
	}
	b.freeOrders = append(b.freeOrders, o)
}

// valid reports whether an order is well formed.
func valid(o Order) bool {
	if o.ID == 0 || o.Qty <= 0 || o.Qty > MaxQty || (o.Side != Buy && o.Side != Sell) || o.Kind < Limit || o.Kind > StopLimit {
		return false
	}
	if (o.Kind == Stop || o.Kind == StopLimit) && o.Stop <= 0 {
		return false
	}
	return o.Kind == Market || o.Kind == Stop || o.Price > 0
}

// Submit places an order and appends what happened to events: fills
// (taker and maker, at the maker's price), then the remainder resting
// (Limit, PostOnly), cancelled (IOC, Market) or nothing left; or a single
// Rejected event (invalid order, duplicate ID, a PostOnly that would take,
// a FOK that cannot fill, or a level whose total quantity would overflow,
// ReasonOverflow), in which case the book is unchanged.
//
// A Stop or StopLimit order is Pending, off the book, until the last
// trade price reaches its stop price; if it already has, the order is
// Triggered at once. Whenever a command trades, the stop orders its last
// price reaches are Triggered one at a time, each entering the book as a
// Market (Stop) or Limit (StopLimit) order, and their own trades may
// trigger more. Buy stops go first, the lowest stop price first; then
// sell stops, the highest first; at one stop price, the earliest first.
// The condition is checked again before each, against the last price
// then. Their events follow the command's own.
func (b *Book) Submit(o Order, events []Event) []Event {
	if !b.bids.buy {
		b.init() // the zero Book
	}
	events = b.submit(o, false, events)
	return b.trigger(events)
}

// triggered reports whether a stop order on side s with stop price p
// would trigger at the current last trade price.
func (b *Book) triggered(s Side, p Price) bool {
	if b.last == 0 {
		return false
	}
	if s == Buy {
		return b.last >= p
	}
	return b.last <= p
}

// trigger sends every stop order the last trade price has reached into
// the book, one at a time, until none is left to trigger.
func (b *Book) trigger(events []Event) []Event {
	for b.stops > 0 {
		var l *level
		if bl := b.buyStops.best(); bl != nil && b.triggered(Buy, bl.price) {
			l = bl
		} else if sl := b.sellStops.best(); sl != nil && b.triggered(Sell, sl.price) {
			l = sl
		} else {
			return events
		}
		so := l.head
		o := Order{ID: so.id, Side: so.side, Kind: Market, Price: 0, Qty: so.qty, Owner: so.owner}
		if so.kind == StopLimit {
			o.Kind, o.Price = Limit, so.limit
		}
		events = append(events, Event{Kind: Triggered, Order: o.ID, Price: l.price, Qty: o.Qty})
		b.unlink(so)
		events = b.submit(o, true, events)
	}
	return events
}

// submit is Submit without triggering stop orders afterwards. fromStop
// says o is a stop order that has been triggered (and taken off its
// queue), now entering as a Market or Limit order.
func (b *Book) submit(o Order, fromStop bool, events []Event) []Event {
	reject := func(r Reason) []Event {
		return append(events, Event{Kind: Rejected, Order: o.ID, Price: o.Price, Qty: o.Qty, Reason: r})
	}
	if !valid(o) {
		return reject(ReasonInvalid)
	}
	if b.orders.get(o.ID) != nil {
		return reject(ReasonDuplicateID)
	}
	opp := b.side(opposite(o.Side))
	market := o.Kind == Market
	switch o.Kind {
	case PostOnly:
		if best := opp.best(); best != nil && opp.crosses(best.price, o.Price) {
			return reject(ReasonWouldTake)
		}
	case FOK:
		if b.available(opp, o, o.Qty) < o.Qty {
			return reject(ReasonNotFillable)
		}
	case Stop, StopLimit:
		if !b.triggered(o.Side, o.Stop) {
			if !b.park(o) {
				return reject(ReasonOverflow)
			}
			return append(events, Event{Kind: Pending, Order: o.ID, Price: o.Stop, Qty: o.Qty})
		}
		events = append(events, Event{Kind: Triggered, Order: o.ID, Price: o.Stop, Qty: o.Qty})
		fromStop = true
		if o.Kind == Stop {
			o.Kind, o.Price = Market, 0
		} else {
			o.Kind = Limit
		}
		market = o.Kind == Market
	}

	left := o.Qty
	selfTraded := false
match:
	for left > 0 {
		best := opp.best()
		if best == nil || (!market && !opp.crosses(best.price, o.Price)) {
			break
		}
		for left > 0 && best.head != nil {
			maker := best.head
			if o.Owner != 0 && maker.owner == o.Owner {
				if b.stp != CancelNewest {
					events = append(events, Event{Kind: Cancelled, Order: maker.id, Price: best.price, Qty: maker.qty, Reason: ReasonSelfTrade})
					b.unlink(maker) // may remove the level
				}
				if b.stp != CancelOldest {
					selfTraded = true
					break match
				}
				if best.count == 0 {
					break // the level is gone: look at the next one
				}
				continue
			}
			q := min(left, maker.qty)
			events = append(events, Event{Kind: Filled, Order: o.ID, Maker: maker.id, Price: best.price, Qty: q})
			b.last = best.price
			left -= q
			if q == maker.qty {
				b.unlink(maker) // may remove the level
			} else {
				maker.qty -= q
				best.qty -= q
			}
		}
	}
	if left == 0 {
		return events
	}
	if selfTraded {
		return append(events, Event{Kind: Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: ReasonSelfTrade})
	}
	switch o.Kind {
	case Limit, PostOnly:
		if b.rest(o.ID, o.Owner, o.Side, o.Price, left) {
			return append(events, Event{Kind: Rested, Order: o.ID, Price: o.Price, Qty: left})
		}
		// Only a level already at o's price can overflow, and an order
		// with a level of its own side at its price cannot have traded, so
		// a new order is refused whole; a triggered stop has left its
		// queue, so what it had is cancelled.
		if fromStop || left != o.Qty {
			return append(events, Event{Kind: Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: ReasonOverflow})
		}
		return reject(ReasonOverflow)
	}
	return append(events, Event{Kind: Cancelled, Order: o.ID, Price: o.Price, Qty: left, Reason: ReasonUnfilled})
}

// available sums the quantity taker o could match on side s, stopping
// once it reaches want. Resting orders of o's owner are skipped when
// self-trade prevention would cancel them and go on, and end the count
// when it would stop the taker.
func (b *Book) available(s *bookSide, o Order, want Qty) Qty {
	var sum Qty
	for i := len(s.levels) - 1; i >= 0 && sum < want; i-- {
		l := s.levels[i]
		if !s.crosses(l.price, o.Price) {
			break
		}
		if o.Owner == 0 {
			if sum = addQty(sum, l.qty); sum < 0 {
				return want // more than an int64 holds: enough
			}
			continue
		}
		for m := l.head; m != nil && sum < want; m = m.next {
			if m.owner == o.Owner {
				if b.stp != CancelOldest {
					return sum
				}
				continue
			}
			sum += min(m.qty, want-sum) // a level may hold orders summing to near math.MaxInt64
		}
	}
	return sum
}

// addQty returns a+b, or -1 if the sum of these non-negative quantities
// overflows an int64.
func addQty(a, b Qty) Qty {
	s, ok := checked.Add(int64(a), int64(b))
	if !ok {
		return -1
	}
	return Qty(s)
}

// fits reports whether a level holding total can take q more without its
// total overflowing.
func fits(total, q Qty) bool {
	_, ok := checked.Add(int64(total), int64(q))
	return ok
}

// park puts a stop order in the queue at its stop price, and reports
// false, changing nothing, if the queue's total would overflow.
func (b *Book) park(o Order) bool {
	l := b.levelFor(b.stopSide(o.Side), o.Stop)
	if !fits(l.qty, o.Qty) {
		return false // l was there already: a new level holds 0
	}
	so := b.newOrder()
	so.id, so.owner, so.side, so.kind, so.qty, so.lvl = o.ID, o.Owner, o.Side, o.Kind, o.Qty, l
	if o.Kind == StopLimit {
		so.limit = o.Price
	}
	b.enqueue(l, so)
	b.stops++
	return true
}

// enqueue appends o to the end of its level's queue and indexes it.
func (b *Book) enqueue(l *level, o *order) {
	link(l, o)
	b.orders.put(o.id, o)
}

// link appends o to the end of its level's queue.
func link(l *level, o *order) {
	o.prev = l.tail
	if l.tail != nil {
		l.tail.next = o
	} else {
		l.head = o
	}
	l.tail = o
	l.qty += o.qty
	l.count++
}

// rest puts an order at the end of its price level, and reports false,
// changing nothing, if the level's total would overflow.
func (b *Book) rest(id OrderID, owner uint64, side Side, p Price, q Qty) bool {
	l := b.levelFor(b.side(side), p)
	if !fits(l.qty, q) {
		return false // l was there already: a new level holds 0
	}
	o := b.newOrder()
	o.id, o.owner, o.side, o.qty, o.lvl = id, owner, side, q, l
	b.enqueue(l, o)
	return true
}

// Cancel removes a resting order, or a pending stop order, and appends a
// Cancelled event with its remaining quantity (and price, or stop price),
// or a Rejected event if no such order has the ID.
func (b *Book) Cancel(id OrderID, events []Event) []Event {
	o := b.orders.get(id)
	if o == nil {
		return append(events, Event{Kind: Rejected, Order: id, Reason: ReasonUnknownID})
	}
	ev := Event{Kind: Cancelled, Order: id, Price: o.lvl.price, Qty: o.qty, Reason: ReasonCancelRequested}
	b.unlink(o)
	return append(events, ev)
}

// Modify changes a resting order. Lowering its quantity at the same price
// keeps its place in the queue (a Reduced event). A new price or a larger
// quantity loses it: the order is cancelled (Cancelled, ReasonReplaced)
// and submitted again as a limit order with the same ID, side and new
// price and quantity, which may match. An unknown ID, a non-positive
// price or quantity, or a quantity above MaxQty is Rejected and changes
// nothing, as is a stop order that has not been triggered
// (ReasonStopPending) and a change that would make the total of the level
// the order would rest at overflow (ReasonOverflow).
func (b *Book) Modify(id OrderID, price Price, qty Qty, events []Event) []Event {
	o := b.orders.get(id)
	switch {
	case o == nil:
		return append(events, Event{Kind: Rejected, Order: id, Price: price, Qty: qty, Reason: ReasonUnknownID})
	case o.kind != 0:
		return append(events, Event{Kind: Rejected, Order: id, Price: price, Qty: qty, Reason: ReasonStopPending})
	case price <= 0 || qty <= 0 || qty > MaxQty:
		return append(events, Event{Kind: Rejected, Order: id, Price: price, Qty: qty, Reason: ReasonInvalid})
	}
	l := o.lvl
	if price == l.price && qty <= o.qty {
		l.qty -= o.qty - qty
		o.qty = qty
		return append(events, Event{Kind: Reduced, Order: id, Price: price, Qty: qty})
	}
	// The order leaves and comes back at price. If its side has a level
	// there (other than its own place), the book is not crossed at price,
	// so it will rest whole: check that level can hold it first.
	if total, ok := b.restingAt(o, price); ok && !fits(total, qty) {
		return append(events, Event{Kind: Rejected, Order: id, Price: price, Qty: qty, Reason: ReasonOverflow})
	}
	side, owner := o.side, o.owner
	events = append(events, Event{Kind: Cancelled, Order: id, Price: l.price, Qty: o.qty, Reason: ReasonReplaced})
	b.unlink(o)
	return b.Submit(Order{ID: id, Side: side, Kind: Limit, Price: price, Qty: qty, Owner: owner}, events)
}

// restingAt returns the total at price on resting order o's side, not
// counting o, and whether there is a level there.
func (b *Book) restingAt(o *order, price Price) (Qty, bool) {
	if price == o.lvl.price {
		return o.lvl.qty - o.qty, true
	}
	s := b.side(o.side)
	if i, ok := s.find(price); ok {
		return s.levels[i].qty, true
	}
	return 0, false
}

func opposite(s Side) Side {
	if s == Buy {
		return Sell
	}
	return Buy
}

// Best returns the best price on a side with its total quantity, and
// false if the side is empty.
func (b *Book) Best(s Side) (Price, Qty, bool) {
	l := b.side(s).best()
	if l == nil {
		return 0, 0, false
	}
	return l.price, l.qty, true
}

// Spread returns best ask minus best bid in ticks, and false unless both
// sides have orders.
func (b *Book) Spread() (Price, bool) {
	bid, _, ok1 := b.Best(Buy)
	ask, _, ok2 := b.Best(Sell)
	if !ok1 || !ok2 {
		return 0, false
	}
	return ask - bid, true
}

// Depth appends up to n levels of a side to dst, best first.
func (b *Book) Depth(s Side, n int, dst []Level) []Level {
	levels := b.side(s).levels
	for i := len(levels) - 1; i >= 0 && n > 0; i, n = i-1, n-1 {
		l := levels[i]
		dst = append(dst, Level{Price: l.price, Qty: l.qty, Orders: l.count})
	}
	return dst
}

// Len returns the number of resting orders (not counting pending stop
// orders).
func (b *Book) Len() int { return b.orders.n - b.stops }

// LastPrice returns the price of the last trade, and false before the
// first.
func (b *Book) LastPrice() (Price, bool) { return b.last, b.last != 0 }

// checkInvariants reports the first broken internal invariant: levels
// strictly ordered best last and never empty, each level's quantity and
// count the sum of its FIFO queue, every resting and pending order indexed
// by its ID and nothing else indexed, the book not crossed, and no
// pending stop order that the last trade price has reached.
func (b *Book) checkInvariants() error {
	indexed, stops := 0, 0
	for _, s := range []*bookSide{&b.bids, &b.asks, &b.buyStops, &b.sellStops} {
		stopSide := s == &b.buyStops || s == &b.sellStops
		for _, l := range s.levels {
			var qty Qty
			count := 0
			var prev *order
			for o := l.head; o != nil; o = o.next {
				switch {
				case o.prev != prev:
					return fmt.Errorf("orderbook: order %d: broken back link", o.id)
				case o.lvl != l:
					return fmt.Errorf("orderbook: order %d: wrong level", o.id)
				case o.qty <= 0:
					return fmt.Errorf("orderbook: order %d: quantity %d", o.id, o.qty)
				case b.orders.get(o.id) != o:
					return fmt.Errorf("orderbook: order %d: not indexed", o.id)
				case b.sideOf(o) != s:
					return fmt.Errorf("orderbook: order %d (kind %d): on the wrong side", o.id, o.kind)
				case stopSide && o.kind == StopLimit && o.limit <= 0:
					return fmt.Errorf("orderbook: stop-limit order %d: limit %d", o.id, o.limit)
				}
				qty += o.qty
				count++
				prev = o
			}
			if l.tail != prev || count == 0 || count != l.count || qty != l.qty {
				return fmt.Errorf("orderbook: level %d: count %d qty %d, queue holds %d orders, %d", l.price, l.count, l.qty, count, qty)
			}
			indexed += count
			if stopSide {
				stops += count
			}
		}
	}
	if indexed != b.orders.n || stops != b.stops {
		return fmt.Errorf("orderbook: %d orders on levels (%d stops), %d indexed (%d stops)", indexed, stops, b.orders.n, b.stops)
	}
	return b.checkShape()
}

// checkShape reports the first broken invariant between levels: each
// side's levels strictly ordered best last, the book not crossed, and no
// pending stop order that the last trade price has reached.
func (b *Book) checkShape() error {
	for _, s := range []*bookSide{&b.bids, &b.asks, &b.buyStops, &b.sellStops} {
		for i := 1; i < len(s.levels); i++ {
			if p, q := s.levels[i-1].price, s.levels[i].price; !s.better(q, p) {
				return fmt.Errorf("orderbook: levels %d and %d out of order: %d, %d", i-1, i, p, q)
			}
		}
	}
	if bid, ask := b.bids.best(), b.asks.best(); bid != nil && ask != nil && bid.price >= ask.price {
		return fmt.Errorf("orderbook: crossed: bid %d >= ask %d", bid.price, ask.price)
	}
	if l := b.buyStops.best(); l != nil && b.triggered(Buy, l.price) {
		return fmt.Errorf("orderbook: buy stop at %d still pending after a trade at %d", l.price, b.last)
	}
	if l := b.sellStops.best(); l != nil && b.triggered(Sell, l.price) {
		return fmt.Errorf("orderbook: sell stop at %d still pending after a trade at %d", l.price, b.last)
	}
	return nil
}
