package risk

import "fmt"

// Side is the side of an order: Buy or Sell.
type Side uint8

const (
	// Buy adds to a position.
	Buy Side = iota + 1
	// Sell takes from a position (or adds to a short one).
	Sell
)

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

// Order is what a check sees: who wants to trade what, how much, at what
// price. Prices and quantities are integers in the instrument's units
// (ticks and lots, as package orderbook uses); an order's notional is
// Price × Qty × the instrument's Multiplier (Config.Multipliers), in the
// account currency's smallest unit. Check a market order at a protective
// price, such as the edge of the price band.
type Order struct {
	// ID identifies the order until it ends; Fill and Release name it. It
	// must be non-zero and unique among open orders.
	ID         uint64
	Account    string
	Instrument string
	Side       Side
	Price      int64 // > 0
	Qty        int64 // > 0
}

// Reason is why a check rejected an order. Each built-in rule has its
// own; user rules use ReasonCustom or their own codes from ReasonUser up.
type Reason uint16

const (
	// ReasonNone: the order is allowed.
	ReasonNone Reason = iota
	// ReasonInvalidOrder: zero ID, empty account or instrument, unknown
	// side, a non-positive price or quantity, or a notional that does not
	// fit in an int64.
	ReasonInvalidOrder
	// ReasonDuplicateID: an open order already has this ID.
	ReasonDuplicateID
	// ReasonAccountKilled: the account's kill switch is on.
	ReasonAccountKilled
	// ReasonAllKilled: the global kill switch is on.
	ReasonAllKilled
	// ReasonRestricted: the instrument is restricted.
	ReasonRestricted
	// ReasonMaxQty: the order's quantity is over the per-order limit.
	ReasonMaxQty
	// ReasonMaxNotional: the order's notional is over the per-order limit.
	ReasonMaxNotional
	// ReasonNoReferencePrice: a price band is set but the instrument has
	// no reference price yet, so the order cannot be checked (fail closed).
	ReasonNoReferencePrice
	// ReasonPriceBand: the price is outside the band around the reference
	// price: a fat finger.
	ReasonPriceBand
	// ReasonRate: the account sends orders faster than its rate allows.
	ReasonRate
	// ReasonSizeAnomaly: the quantity is far above the account's usual
	// order size.
	ReasonSizeAnomaly
	// ReasonPosition: filled and open orders with this one could take the
	// account's position in the instrument over its limit.
	ReasonPosition
	// ReasonDailyNotional: the account's notional today, filled and open,
	// with this order would be over its daily limit.
	ReasonDailyNotional
	// ReasonCustom: a user rule rejected the order.
	ReasonCustom
	// ReasonOverflow: a rule's arithmetic on the order does not fit in an
	// int64: its notional with the instrument's multiplier, or an
	// account's sum of notionals, positions or rate times with it. The
	// engine fails closed, whether a limit is set or not: a sum it cannot
	// keep exactly is a limit it could not enforce later. The rule named
	// in the Decision is the first whose arithmetic overflowed.
	ReasonOverflow
	// ReasonPanic: a user callback panicked during the check (a Rule's
	// Check, or the clock given to WithClock). The order is rejected
	// (fail closed), everything reserved for it is given back, and
	// Decision.Panic holds the *panics.Error.
	ReasonPanic
	// ReasonNotConfigured: the engine was not made by New (the zero
	// Engine, or a nil *Engine). It has no rules and no limits, so it
	// rejects every order (fail closed).
	ReasonNotConfigured

	// ReasonUser is the first code free for user rules' own reasons.
	ReasonUser Reason = 1000
)

var reasonNames = [...]string{
	ReasonNone:             "",
	ReasonInvalidOrder:     "invalid order",
	ReasonDuplicateID:      "duplicate order ID",
	ReasonAccountKilled:    "account kill switch on",
	ReasonAllKilled:        "global kill switch on",
	ReasonRestricted:       "restricted instrument",
	ReasonMaxQty:           "quantity over limit",
	ReasonMaxNotional:      "notional over limit",
	ReasonNoReferencePrice: "no reference price",
	ReasonPriceBand:        "price outside band",
	ReasonRate:             "order rate over limit",
	ReasonSizeAnomaly:      "order size anomaly",
	ReasonPosition:         "position over limit",
	ReasonDailyNotional:    "daily notional over limit",
	ReasonCustom:           "rejected by a user rule",
	ReasonOverflow:         "arithmetic overflow",
	ReasonPanic:            "panic in a user callback",
	ReasonNotConfigured:    "engine not configured",
}

// String names the reason, or returns "" for ReasonNone.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason %d", uint16(r))
}

// Verdict is what one rule says of an order: allowed when Reason is
// ReasonNone, otherwise rejected with a message for people.
type Verdict struct {
	Reason  Reason
	Message string
}

// Allow is the verdict that lets an order pass a rule.
var Allow = Verdict{}

// Decision is what a check decided: the order is Allowed, or rejected by
// the rule named Rule for Reason, with a Message for people.
type Decision struct {
	Allowed bool
	Rule    string
	Reason  Reason
	Message string
	// Panic is nil unless a user callback panicked during a rejected
	// check: then it is an error wrapping the *panics.Error, naming the
	// rule and order (several joined with errors.Join), also given to
	// the engine's error handler. A rule's
	// panic rejects with ReasonPanic; a Reserver's Release that panics
	// while the check gives back what it reserved leaves the rejection
	// that caused the release as the Reason. errors.As finds the
	// *panics.Error in Panic and in Err().
	Panic error
}

// Err returns nil for an allowed order, and a *RejectError otherwise, for
// callers that handle rejections as errors.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &RejectError{Rule: d.Rule, Reason: d.Reason, Message: d.Message, Panic: d.Panic}
}

// RejectError is a rejection as an error.
type RejectError struct {
	Rule    string
	Reason  Reason
	Message string
	// Panic is the Decision's Panic: nil, or an error wrapping the
	// *panics.Error of a user callback. Unwrap returns it.
	Panic error
}

// Error says which rule rejected the order and why.
func (e *RejectError) Error() string {
	return fmt.Sprintf("risk: rejected by %s: %s", e.Rule, e.Message)
}

// Unwrap returns the panic behind the rejection, if any, so that
// errors.As finds a *panics.Error through a RejectError.
func (e *RejectError) Unwrap() error { return e.Panic }

// ErrorType returns the reason's name, for OpenTelemetry's error.type.
func (e *RejectError) ErrorType() string { return e.Reason.String() }
