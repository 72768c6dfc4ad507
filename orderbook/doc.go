// Package orderbook is a limit order book for one instrument with price-time
// priority, exact fixed-point prices and quantities, and a single-writer
// matching engine.
//
// Prices are integer counts of the instrument's tick size ([Price]) and
// quantities integer counts of its lot size ([Qty]), so matching never
// rounds. [ParsePrice] and [ParseQty] convert decimal text exactly and
// refuse, with a typed [*ParseError], a value off the grid, negative, zero
// (for a quantity) or too large; [Step.Format] writes them back.
//
//	tick := orderbook.MustParseStep("0.25")
//	p, err := orderbook.ParsePrice("101.25", tick) // 405 ticks
//
// The book and the engine are being built on this grid; this version of
// the package provides the grid.
//
// # What does not belong here
//
// Pre-trade risk checks belong to package risk; queues to package
// ringbuffer. Floating-point prices do not belong anywhere near matching.
package orderbook
