package sampler

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// This file implements the OpenTelemetry consistent probability sampling
// encoding (specification: trace/tracestate-probability-sampling.md and
// trace/tracestate-handling.md): a 56-bit rejection threshold th and a
// 56-bit randomness value rv, carried in the W3C tracestate entry "ot" as
// "th:<1-14 hex digits>" and "rv:<14 hex digits>". A span is kept when
// rv >= th.

const (
	// maxThreshold is 2^56: the threshold that rejects everything, which
	// is not a valid probability (the smallest is 2^-56).
	maxThreshold = uint64(1) << 56
	// randomnessMask keeps the 56 least significant bits of a trace ID.
	randomnessMask = maxThreshold - 1
	// thresholdPrecision is the number of significant hex digits of th,
	// the specification's recommended default.
	thresholdPrecision = 4
	// otKey is the tracestate entry OpenTelemetry owns.
	otKey = "ot"
)

// errInvalidThreshold is returned when a th value does not parse.
var errInvalidThreshold = errors.New("invalid th value")

// threshold is an encoded rejection threshold: the integer the decision
// compares with, and its th value, which encodes exactly that integer.
type threshold struct {
	t    uint64 // 0 (keep all) to 2^56-1
	th   string // e.g. "e666"
	prec int    // hex digits the rounding kept (before trailing zeros were cut)
}

// minProbability is the smallest probability the encoding below represents
// with some precision: its 12-digit cap reaches 2^-48; options refuse
// floors and ceilings below 2^-40 to keep a few significant digits.
const minProbability = 0x1p-40

// probabilityToThreshold rounds p to the specification's recommended
// precision (4 significant hex digits, more for probabilities near zero so
// that they keep 4 significant digits, at most 12) and returns the
// threshold that encodes it. p below 2^-48 encodes as about 2^-48.
func probabilityToThreshold(p float64) threshold {
	if !(p < 1) { // also catches NaN
		return threshold{t: 0, th: "0", prec: 1}
	}
	p = max(p, 1/float64(maxThreshold))
	// Raise precision by one digit per four leading 'f' digits.
	_, exp := math.Frexp(p)
	precision := max(1, min(12, thresholdPrecision+(-exp)/4))
	// 2-p is in (1, 2): its 52-bit mantissa holds the rejection
	// probability 1-p as 13 hex digits. Add half of the last kept digit
	// to round to nearest.
	r := 2 - p + math.Ldexp(0.5, -4*precision)
	var digits string
	if r >= 2 {
		digits = "fffffffffffff"
	} else {
		mantissa := math.Float64bits(r) & (1<<52 - 1)
		digits = strconv.FormatUint(mantissa|1<<52, 16)[1:] // 13 digits, leading zeros kept
	}
	th := strings.TrimRight(digits[:precision], "0")
	if th == "" {
		return threshold{t: 0, th: "0", prec: precision}
	}
	t, _ := parseThreshold(th) // cannot fail: 1-12 hex digits
	return threshold{t: t, th: th, prec: precision}
}

// encodeThreshold returns the th value of an integer threshold: 14 hex
// digits with trailing zeros removed, or "0".
func encodeThreshold(t uint64) threshold {
	if t == 0 {
		return threshold{t: 0, th: "0", prec: 14}
	}
	digits := strconv.FormatUint(t|maxThreshold, 16)[1:] // 14 digits, leading zeros kept
	return threshold{t: t, th: strings.TrimRight(digits, "0"), prec: 14}
}

// parseThreshold parses a th value: 1 to 14 hex digits, padded with
// trailing zeros to 56 bits.
func parseThreshold(th string) (uint64, error) {
	if len(th) == 0 || len(th) > 14 {
		return 0, errInvalidThreshold
	}
	v, err := strconv.ParseUint(th, 16, 64)
	if err != nil {
		return 0, errInvalidThreshold
	}
	return v << (4 * (14 - len(th))), nil
}

// parseRandomness parses an rv value: exactly 14 hex digits.
func parseRandomness(rv string) (uint64, bool) {
	if len(rv) != 14 {
		return 0, false
	}
	v, err := strconv.ParseUint(rv, 16, 64)
	return v, err == nil
}

// probability returns the sampling probability a threshold encodes.
func (t threshold) probability() float64 {
	return float64(maxThreshold-t.t) / float64(maxThreshold)
}

// adjustedCount returns how many spans a span sampled at threshold t
// stands for: 1/probability.
func adjustedCount(t uint64) float64 {
	return float64(maxThreshold) / float64(maxThreshold-t)
}

// traceIDRandomness returns the 56 least significant bits of a trace ID,
// the randomness W3C Trace Context Level 2 guarantees for random IDs.
func traceIDRandomness(id trace.TraceID) uint64 {
	return binary.BigEndian.Uint64(id[8:]) & randomnessMask
}

// otValue is the parsed "ot" tracestate entry: its th and rv sub-keys, if
// present and valid.
type otValue struct {
	th, rv       uint64
	hasTh, hasRv bool
	badTh        bool   // a th sub-key is present but does not parse
	raw          string // the whole entry, for rewriting
}

// parseOT reads th and rv from an "ot" entry such as "th:e666;rv:1a2b…".
// Unknown sub-keys are ignored, as the specification allows; of a
// repeated th or rv, the first counts.
func parseOT(raw string) otValue {
	v := otValue{raw: raw}
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ";")
		key, val, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		// The first th and the first rv count, as rvOnly and every reader
		// that stops at the first match see them.
		switch {
		case key == "th" && !v.hasTh && !v.badTh:
			if t, err := parseThreshold(val); err == nil {
				v.th, v.hasTh = t, true
			} else {
				v.badTh = true
			}
		case key == "rv" && !v.hasRv:
			v.rv, v.hasRv = parseRandomness(val)
		}
	}
	return v
}

// rvOnly returns the entry's rv sub-key alone ("rv:…"), or "".
func (v otValue) rvOnly() string {
	for rest := v.raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ";")
		if strings.HasPrefix(kv, "rv:") {
			return kv
		}
	}
	return ""
}

// withRandomness returns the ot entry raw with rv set to r (14 hex
// digits), replacing any rv it had.
func withRandomness(raw string, r uint64) string {
	var b strings.Builder
	b.WriteString("rv:")
	b.WriteString(strconv.FormatUint(r|maxThreshold, 16)[1:])
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ";")
		if kv == "" || strings.HasPrefix(kv, "rv:") {
			continue
		}
		b.WriteByte(';')
		b.WriteString(kv)
	}
	return b.String()
}

// withThreshold returns the ot entry with th set to th (or removed when th
// is ""), keeping every other sub-key in order.
func (v otValue) withThreshold(th string) string {
	var b strings.Builder
	if th != "" {
		b.WriteString("th:")
		b.WriteString(th)
	}
	for rest := v.raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, ";")
		if kv == "" || strings.HasPrefix(kv, "th:") {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(kv)
	}
	return b.String()
}
