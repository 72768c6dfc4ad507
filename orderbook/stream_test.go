package orderbook_test

import (
	"math/rand/v2"

	"github.com/otlpgo/otlpgo/orderbook"
)

// commandStream makes random commands: limit, market, IOC, FOK,
// post-only, stop and stop-limit orders for a few owners on a few prices from 100, so that
// crossing is frequent, with cancels and modifies of recent IDs and the
// occasional duplicate or invalid order.
//
// Every limit and post-only order is cancelled a fixed number of commands
// after it was sent unless it was filled first (the cancel is then
// rejected as unknown, as a cancel racing a fill is), so that the book
// stays near a steady size instead of growing with the stream, as a real
// book does.
type commandStream struct {
	rng     *rand.Rand
	prices  int
	nextID  orderbook.OrderID // IDs this stream hands out: nextID, nextID+step, ...
	step    orderbook.OrderID
	issued  int
	n       int             // commands made
	pending []pendingCancel // expiries, oldest first
}

type pendingCancel struct {
	due int
	id  orderbook.OrderID
}

// orderLifetime is how many commands a resting order of the stream lives
// at most.
const orderLifetime = 2_000

var streamKinds = []orderbook.Kind{orderbook.Limit, orderbook.Limit, orderbook.Limit, orderbook.Market, orderbook.IOC, orderbook.FOK, orderbook.PostOnly,
	orderbook.Stop, orderbook.StopLimit}

func newCommandStream(seed uint64, prices int) *commandStream {
	return &commandStream{rng: rand.New(rand.NewPCG(seed, 7)), prices: prices, nextID: 1, step: 1}
}

// recent returns an ID this stream issued lately (or 0 before any).
func (s *commandStream) recent() orderbook.OrderID {
	if s.issued == 0 {
		return 0
	}
	back := orderbook.OrderID(1 + s.rng.IntN(min(s.issued, 64)))
	return s.nextID - back*s.step
}

func (s *commandStream) next() orderbook.Command {
	s.n++
	if len(s.pending) > 0 && s.pending[0].due <= s.n {
		id := s.pending[0].id
		s.pending = s.pending[1:]
		return orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: id}}
	}
	r := s.rng
	switch k := r.IntN(10); {
	case k < 2:
		return orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: s.recent()}}
	case k < 3:
		return orderbook.Command{Op: orderbook.OpModify, Order: orderbook.Order{ID: s.recent(),
			Price: orderbook.Price(100 + r.IntN(s.prices)), Qty: orderbook.Qty(1 + r.IntN(10))}}
	}
	// Bids on the lower two thirds of the prices and asks on the upper two
	// thirds: they cross in the middle third, and the book builds depth
	// on either side of it.
	side := orderbook.Side(1 + r.IntN(2))
	price := orderbook.Price(100 + r.IntN(max(1, 2*s.prices/3)))
	if side == orderbook.Sell {
		price += orderbook.Price(s.prices / 3)
	}
	o := orderbook.Order{
		ID:    s.nextID,
		Side:  side,
		Kind:  streamKinds[r.IntN(len(streamKinds))],
		Price: price,
		Stop:  orderbook.Price(100 + r.IntN(s.prices)),
		Qty:   orderbook.Qty(1 + r.IntN(10)),
		Owner: uint64(r.IntN(4)),
	}
	switch r.IntN(100) {
	case 0:
		o.ID = s.recent() // probably a duplicate
	case 1:
		o.Qty = 0 // invalid
	default:
		if o.Kind == orderbook.Limit || o.Kind == orderbook.PostOnly || o.Kind == orderbook.StopLimit {
			s.pending = append(s.pending, pendingCancel{s.n + orderLifetime, o.ID})
		}
		s.nextID += s.step
		s.issued++
	}
	return orderbook.Command{Op: orderbook.OpSubmit, Order: o}
}

// expireAll returns the cancels of every order still due to expire.
func (s *commandStream) expireAll() []orderbook.Command {
	var cmds []orderbook.Command
	for _, p := range s.pending {
		cmds = append(cmds, orderbook.Command{Op: orderbook.OpCancel, Order: orderbook.Order{ID: p.id}})
	}
	s.pending = s.pending[:0]
	return cmds
}

// apply carries a command out on the reference book.
func (r *refBook) apply(c orderbook.Command) []orderbook.Event {
	switch c.Op {
	case orderbook.OpSubmit:
		return r.submit(c.Order)
	case orderbook.OpCancel:
		return r.cancel(c.Order.ID)
	case orderbook.OpModify:
		return r.modify(c.Order.ID, c.Order.Price, c.Order.Qty)
	}
	return []orderbook.Event{{Kind: orderbook.Rejected, Order: c.Order.ID, Price: c.Order.Price, Qty: c.Order.Qty, Reason: orderbook.ReasonInvalid}}
}
