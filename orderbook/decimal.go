package orderbook

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Price is a price in ticks: an integer count of the instrument's tick
// size. Matching compares and adds Prices as integers, so it is exact.
type Price int64

// Qty is a quantity in lots: an integer count of the instrument's lot
// size.
type Qty int64

// MaxQty is the largest quantity an order may have, 2^40 lots (about
// 1.1e12). The bound keeps every sum a book forms exact: a price level
// would need more than 8 million orders of MaxQty to overflow its total.
const MaxQty Qty = 1 << 40

// Step is a decimal grid step, such as a tick size of 0.25 or a lot size of
// 0.001, held exactly as an integer mantissa and a count of decimal places
// (0.25 is 25 and 2). The zero Step is invalid; get one from ParseStep.
type Step struct {
	mantissa uint64 // > 0
	places   int    // 0 to maxPlaces
}

// maxPlaces bounds the decimal places of a number or step: 10^18 is the
// largest power of ten that fits in an int64.
const maxPlaces = 18

var (
	// ErrSyntax is returned for text that is not a plain decimal number
	// (digits, at most one point, an optional leading minus; no exponent,
	// no spaces, no thousands separators).
	ErrSyntax = errors.New("orderbook: not a decimal number")
	// ErrOffGrid is returned for a value that is not a whole multiple of
	// its step, such as a price of 101.30 on a 0.25 tick.
	ErrOffGrid = errors.New("orderbook: not a multiple of the step")
	// ErrNegative is returned for a negative price, quantity or step.
	ErrNegative = errors.New("orderbook: negative")
	// ErrZero is returned for a zero quantity or step.
	ErrZero = errors.New("orderbook: zero")
	// ErrOverflow is returned when a value does not fit: more than 18
	// decimal places, or more ticks or lots than an int64 holds.
	ErrOverflow = errors.New("orderbook: out of range")
)

// ParseError reports text that could not be converted. Its Err is one of
// ErrSyntax, ErrOffGrid, ErrNegative, ErrZero or ErrOverflow, so callers
// can use errors.Is as well as errors.As.
type ParseError struct {
	Input string // the text as given
	What  string // "price", "quantity" or "step"
	Err   error
}

// Error says what was wrong with which input.
func (e *ParseError) Error() string {
	return fmt.Sprintf("%v: %s %q", e.Err, e.What, e.Input)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

// decimal is a parsed non-negative decimal: mantissa / 10^places.
type decimal struct {
	mantissa uint64
	places   int
	negative bool
}

// parseDecimal reads a plain decimal such as "101.25", "-3", "0.001" or
// "7." without any rounding.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	rest := s
	if strings.HasPrefix(rest, "-") {
		d.negative, rest = true, rest[1:]
	}
	intPart, frac, hasPoint := strings.Cut(rest, ".")
	if intPart == "" && frac == "" || hasPoint && strings.Contains(frac, ".") {
		return d, ErrSyntax
	}
	digits := intPart + frac
	if digits == "" {
		return d, ErrSyntax
	}
	// Trailing zeros of the fraction do not change the value.
	frac = strings.TrimRight(frac, "0")
	digits = intPart + frac
	if len(frac) > maxPlaces {
		return d, ErrOverflow
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return d, ErrSyntax
		}
		hi, lo := bits.Mul64(d.mantissa, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > math.MaxInt64 {
			return d, ErrOverflow
		}
		d.mantissa = lo
	}
	d.places = len(frac)
	return d, nil
}

var pow10 = func() [maxPlaces + 1]uint64 {
	var p [maxPlaces + 1]uint64
	p[0] = 1
	for i := 1; i <= maxPlaces; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ParseStep parses a tick or lot size, such as "0.25" or "0.001". It must
// be positive.
func ParseStep(s string) (Step, error) {
	d, err := parseDecimal(s)
	switch {
	case err != nil:
		return Step{}, &ParseError{Input: s, What: "step", Err: err}
	case d.negative && d.mantissa != 0:
		return Step{}, &ParseError{Input: s, What: "step", Err: ErrNegative}
	case d.mantissa == 0:
		return Step{}, &ParseError{Input: s, What: "step", Err: ErrZero}
	}
	return Step{mantissa: d.mantissa, places: d.places}, nil
}

// MustParseStep is ParseStep for steps written in the program, such as
// package-level variables; it panics on an error.
func MustParseStep(s string) Step {
	st, err := ParseStep(s)
	if err != nil {
		panic(err)
	}
	return st
}

// count converts d to a whole number of steps: d / step, which must be
// exact and fit an int64.
func (st Step) count(d decimal) (int64, error) {
	if st.mantissa == 0 {
		return 0, ErrZero
	}
	// d = m1/10^p1 and step = m2/10^p2, so d/step = m1·10^(P-p1) / (m2·10^(P-p2))
	// with P = max(p1, p2); each side is computed in 128 bits.
	p := max(d.places, st.places)
	aHi, aLo := bits.Mul64(d.mantissa, pow10[p-d.places])
	bHi, bLo := bits.Mul64(st.mantissa, pow10[p-st.places])
	if bHi != 0 {
		// The step scaled up exceeds 64 bits only when the value has many
		// more places than the step; the value then must be even larger
		// to be a whole number of steps.
		return 0, ErrOverflow
	}
	if aHi >= bLo {
		return 0, ErrOverflow // the quotient would not fit in 64 bits
	}
	q, r := bits.Div64(aHi, aLo, bLo)
	if r != 0 {
		return 0, ErrOffGrid
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

// ParsePrice converts a decimal price, such as "101.25", to ticks of the
// given size: ParsePrice("101.25", MustParseStep("0.25")) is 405. It
// rejects text that is not a decimal, a price off the tick grid, a
// negative price and one too large for an int64 of ticks, each with a
// *ParseError. Zero is a valid price.
func ParsePrice(s string, tick Step) (Price, error) {
	d, err := parseDecimal(s)
	if err == nil && d.negative && d.mantissa != 0 {
		err = ErrNegative
	}
	var n int64
	if err == nil {
		n, err = tick.count(d)
	}
	if err != nil {
		return 0, &ParseError{Input: s, What: "price", Err: err}
	}
	return Price(n), nil
}

// ParseQty converts a decimal quantity, such as "1.5", to lots of the given
// size. Like ParsePrice, and a zero quantity is rejected with ErrZero and
// one above MaxQty lots with ErrOverflow.
func ParseQty(s string, lot Step) (Qty, error) {
	d, err := parseDecimal(s)
	switch {
	case err != nil:
	case d.negative && d.mantissa != 0:
		err = ErrNegative
	case d.mantissa == 0:
		err = ErrZero
	}
	var n int64
	if err == nil {
		n, err = lot.count(d)
	}
	if err == nil && Qty(n) > MaxQty {
		err = ErrOverflow
	}
	if err != nil {
		return 0, &ParseError{Input: s, What: "quantity", Err: err}
	}
	return Qty(n), nil
}

// Format writes n steps as a decimal with the step's places, such as
// "101.25" for 405 ticks of 0.25. It is exact, and ParsePrice or ParseQty
// read it back to n.
func (st Step) Format(n int64) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	hi, lo := bits.Mul64(u, st.mantissa)
	// Split the 128-bit product into digits.
	var buf [48]byte
	i := len(buf)
	for hi != 0 || lo != 0 {
		var r uint64
		hi, r = bits.Div64(0, hi, 10)
		lo, r = bits.Div64(r, lo, 10)
		i--
		buf[i] = byte('0' + r)
	}
	digits := string(buf[i:])
	if digits == "" {
		digits = "0"
	}
	if st.places > 0 {
		if len(digits) <= st.places {
			digits = strings.Repeat("0", st.places-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-st.places] + "." + digits[len(digits)-st.places:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits
}

// String returns the step as a decimal, such as "0.25".
func (st Step) String() string { return st.Format(1) }
