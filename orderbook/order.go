package orderbook

// Side is the side of an order: Buy or Sell.
type Side uint8

const (
	// Buy is a bid: it matches asks at or below its price.
	Buy Side = iota + 1
	// Sell is an ask: it matches bids at or above its price.
	Sell
)

// Kind is how an order meets the book.
type Kind uint8

const (
	// Limit matches what it can at its price or better and rests the rest
	// (good till cancelled).
	Limit Kind = iota + 1
	// Market matches what it can at any price; what is left is cancelled.
	Market
	// IOC (immediate or cancel) matches what it can at its price or
	// better; what is left is cancelled.
	IOC
	// FOK (fill or kill) matches in full at its price or better, or not
	// at all.
	FOK
	// PostOnly rests at its price, and is rejected if it would match.
	PostOnly
	// Stop waits, off the book, until a trade at or through its Stop
	// price (at or above it for a buy, at or below for a sell), and then
	// enters as a Market order.
	Stop
	// StopLimit waits like Stop, and then enters as a Limit order at its
	// Price.
	StopLimit
)

// OrderID identifies an order. Zero is not a valid ID.
type OrderID uint64

// Order is a command to the book: what to buy or sell, how and at what
// limit. Price is ignored for Market and Stop orders, and Stop for all
// but Stop and StopLimit orders.
type Order struct {
	ID    OrderID
	Side  Side
	Kind  Kind
	Price Price
	Qty   Qty
	// Stop is the trigger price of a Stop or StopLimit order: the order
	// waits until the last trade price reaches it.
	Stop Price
	// Owner identifies the account behind the order for self-trade
	// prevention: two orders of the same non-zero Owner never trade with
	// each other (see STP). Zero means no owner.
	Owner uint64
}

// STP is a self-trade prevention policy: what happens when an incoming
// order would trade with a resting order of the same Owner.
type STP uint8

const (
	// CancelNewest cancels the rest of the incoming order (the default).
	CancelNewest STP = iota
	// CancelOldest cancels the resting order and goes on matching.
	CancelOldest
	// CancelBoth cancels both.
	CancelBoth
)

// EventKind says what happened to an order.
type EventKind uint8

const (
	// Filled: Qty of the order traded at Price against Maker, a resting
	// order.
	Filled EventKind = iota + 1
	// Rested: the order's remaining Qty now rests in the book at Price.
	Rested
	// Cancelled: the order's remaining Qty left the book or was not
	// placed; Reason says why.
	Cancelled
	// Rejected: the command was refused and changed nothing; Reason says
	// why.
	Rejected
	// Reduced: a resting order's quantity went down in place, keeping its
	// priority; Qty is what now rests.
	Reduced
	// Pending: a Stop or StopLimit order waits for its trigger, off the
	// book; Price is its stop price.
	Pending
	// Triggered: a trade reached a waiting order's stop price (Price), so
	// it enters the book now as a Market or Limit order; its fills, rest
	// or cancellation follow.
	Triggered
)

// Reason explains a Cancelled or Rejected event.
type Reason uint8

const (
	// ReasonNone is the reason of Filled and Rested events.
	ReasonNone Reason = iota
	// ReasonCancelRequested: the owner cancelled the order.
	ReasonCancelRequested
	// ReasonUnfilled: an IOC or Market order's remainder found no more to
	// match.
	ReasonUnfilled
	// ReasonDuplicateID: an order with this ID is already in the book.
	ReasonDuplicateID
	// ReasonUnknownID: no resting order has this ID.
	ReasonUnknownID
	// ReasonInvalid: the order's ID, side, kind, price or quantity is not
	// valid (zero ID, unknown side or kind, a quantity not in 1..MaxQty,
	// a non-positive price for an order that has one, or a non-positive
	// stop price for a stop order), or a command's Op is unknown.
	ReasonInvalid
	// ReasonWouldTake: a PostOnly order would have matched.
	ReasonWouldTake
	// ReasonNotFillable: a FOK order could not be filled in full.
	ReasonNotFillable
	// ReasonReplaced: Modify moved the order to a new price or a larger
	// quantity, so it left the book and was submitted again.
	ReasonReplaced
	// ReasonSelfTrade: self-trade prevention cancelled the order.
	ReasonSelfTrade
	// ReasonStopPending: Modify named a stop order that has not been
	// triggered; cancel it and submit it again instead.
	ReasonStopPending
	// ReasonOverflow: the order would have made the total quantity at its
	// price level (or, for a pending stop, at its stop price) exceed
	// math.MaxInt64 lots, which takes more than 8 million orders of MaxQty
	// at one price. A new order or a Modify is Rejected and changes
	// nothing; a triggered stop-limit order that cannot rest is Cancelled.
	ReasonOverflow

	// maxReason is the last reason: keep it so when adding one.
	maxReason = ReasonOverflow
)

// Event is one thing a command caused. Order is the order the event is
// about (the taker, for a fill); Maker is the resting order of a fill.
type Event struct {
	Kind   EventKind
	Order  OrderID
	Maker  OrderID
	Price  Price
	Qty    Qty
	Reason Reason
}

// Level is one price level of a depth snapshot.
type Level struct {
	Price  Price
	Qty    Qty // total resting quantity
	Orders int // resting orders
}

// String returns "buy" or "sell".
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "invalid side"
}

// String returns the kind's name, such as "ioc".
func (k Kind) String() string {
	switch k {
	case Limit:
		return "limit"
	case Market:
		return "market"
	case IOC:
		return "ioc"
	case FOK:
		return "fok"
	case PostOnly:
		return "post-only"
	case Stop:
		return "stop"
	case StopLimit:
		return "stop-limit"
	}
	return "invalid kind"
}

// String returns the event kind's name, such as "filled".
func (k EventKind) String() string {
	switch k {
	case Filled:
		return "filled"
	case Rested:
		return "rested"
	case Cancelled:
		return "cancelled"
	case Rejected:
		return "rejected"
	case Reduced:
		return "reduced"
	case Pending:
		return "pending"
	case Triggered:
		return "triggered"
	}
	return "invalid event"
}

// String describes the reason, or returns "" for ReasonNone.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonCancelRequested:
		return "cancel requested"
	case ReasonUnfilled:
		return "unfilled"
	case ReasonDuplicateID:
		return "duplicate order ID"
	case ReasonUnknownID:
		return "unknown order ID"
	case ReasonInvalid:
		return "invalid order"
	case ReasonWouldTake:
		return "post-only order would take"
	case ReasonNotFillable:
		return "fill-or-kill order cannot fill"
	case ReasonReplaced:
		return "replaced"
	case ReasonSelfTrade:
		return "self-trade prevented"
	case ReasonStopPending:
		return "stop order not yet triggered"
	case ReasonOverflow:
		return "level quantity would overflow"
	}
	return "invalid reason"
}
