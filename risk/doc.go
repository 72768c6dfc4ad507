// Package risk is a pre-trade risk engine: it checks an order against
// limits in well under a microsecond and never lets concurrent orders
// together cross a limit.
//
// An [Engine] runs rules in priority order and returns a [Decision]: the
// order is allowed, or rejected by a named rule with a typed [Reason] and
// a message. The built-in rules cover what the industry's pre-trade
// controls do (FIA's best practices for automated trading, SEC 15c3-5,
// exchange integrity controls):
//
//   - a kill switch per account and a global one ([Engine.Kill],
//     [Engine.KillAll]);
//   - restricted instruments;
//   - maximum quantity and notional per order;
//   - a price band around a reference price the caller keeps current
//     ([Engine.SetReferencePrice]), against fat fingers;
//   - an order rate per account (an allocation-free token bucket);
//   - an order size anomaly: a quantity far above the account's running
//     mean (Welford's mean and variance, after a warm-up);
//   - an open position limit per account and instrument, and a daily
//     notional limit per account with the day starting at midnight in a
//     configured time zone. These two reserve: an allowed order holds its
//     quantity and notional until it fills ([Engine.Fill]) or ends
//     ([Engine.Release]), and a rejection by a later rule gives back what
//     earlier ones reserved.
//
// Limits are data: a [Config] with Validate, replaced while checks run
// ([Engine.SetConfig]). [New] and SetConfig copy the Config deeply, so a
// caller may change or reuse its maps and slices afterwards. User rules
// implement [Rule] (and [Reserver] if they hold something back) and join
// at a priority ([WithRule]).
//
//	engine, err := risk.New(risk.Config{MaxOrderQty: 1_000, DailyNotional: 5_000_000, TimeZone: "America/New_York"})
//	d := engine.Check(ctx, risk.Order{ID: 7, Account: "acme", Instrument: "ESZ6", Side: risk.Buy, Price: 5_000, Qty: 2})
//	if !d.Allowed {
//		return d.Err() // *risk.RejectError: rule, reason, message
//	}
//
// Checks are safe for concurrent use. State is kept per account in 64
// independently locked shards, so unrelated accounts rarely contend, and
// each reservation is atomic. A check is too cheap to be a span of its
// own (unless [WithCheckSpans]); a rejection adds an event to the
// caller's span and counts in the risk.rejections metric by rule and
// reason.
//
// # Failing closed
//
// Every product or sum of the caller's numbers that is compared with a
// limit is computed with overflow checks. An order whose notional with its
// instrument's multiplier, or whose account's sums with it, do not fit in
// an int64 is rejected with [ReasonOverflow], whether or not a limit is
// set: a sum the engine cannot keep exactly is a limit it could not
// enforce later.
//
// [Engine.Fill] refuses, with [ErrFillPrice], a fill no limit order can
// have: a buy above its limit price, a sell below it, or a price ×
// quantity over [MaxNotional]. A sell filled above its limit price counts
// towards the daily notional at its limit price, the notional its check
// allowed, so that fills never take an account past a limit.
//
// Every callback a user gives the engine (a [Rule]'s Check, a
// [Reserver]'s Release and Fill, the clock, the error handler) runs under
// package panics. A panic in a check rejects the order with [ReasonPanic]
// (or, in a Release while a rejection is given back, keeps the rejection's
// reason), gives back everything the check reserved, frees the order's
// ID, and reaches the caller as a *panics.Error in [Decision].Panic and
// the error handler (called once all that is given back); from Fill and
// Release it is returned. A callback that calls runtime.Goexit ends the
// goroutine, which nothing can stop; deferred cleanup first gives back
// what the check reserved and frees its ID, or has the other rules
// record the fill or release, so nothing stays held.
//
// The zero [Engine] rejects every order with [ReasonNotConfigured], and
// its Fill, Release and SetConfig return [ErrNotConfigured]: an engine
// with no rules must not pass orders. Use [New].
//
// An account's trading day only moves forward. Checks and fills read the
// clock before they take the account's lock, so a reading taken just
// before midnight may arrive after the new day began, and a clock may be
// stepped back across midnight (NTP): such a reading counts against the
// newer day, whose usage it never erases. A new [Config].TimeZone keeps
// the usage until the first midnight in the new zone after the start of
// the account's day. The other side of this is fail-closed too: a clock
// reading far ahead (a clock that jumps a year, then is corrected) moves
// the accounts it touches to that day and their order rate to that time
// for good, so that their daily usage does not reset and (with a rate
// limit) their orders are rejected with [ReasonRate] until real time
// catches up. Keep the clock sane; an engine made anew starts clean.
//
// # What does not belong here
//
// Self-trade prevention is the order book's (package orderbook). Margin,
// portfolio risk and post-trade surveillance are not pre-trade checks.
// Cancelling an account's open orders when its kill switch is thrown is
// the trading system's job: the engine stops new ones.
package risk
