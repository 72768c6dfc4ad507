package sampler

import (
	"math"
	"strings"
	"testing"
)

// The specification's table of 1-in-N probabilities at the recommended
// precision of 4 (trace/tracestate-probability-sampling.md, "Converting
// floating-point probability to threshold value"), with the actual
// probability each threshold encodes.
var specThresholds = []struct {
	p      float64
	th     string
	actual float64
}{
	{1, "0", 1},
	{0.5, "8", 0.5},
	{1.0 / 3, "aaab", 0.3333282470703125},
	{0.25, "c", 0.25},
	{0.2, "cccd", 0.1999969482421875},
	{0.125, "e", 0.125},
	{0.1, "e666", 0.100006103515625},
	{0.0625, "f", 0.0625},
	{0.01, "fd70a", 0.010000228881835938},
	{0.001, "ffbe77", 0.0009999871253967285},
	{0.0001, "fff9724", 0.00010000169277191162},
	{0.00001, "ffff583a", 1.00000761449337e-05},
	{0.000001, "ffffef39", 1.00000761449337e-06},
}

func TestProbabilityToThresholdMatchesSpecification(t *testing.T) {
	for _, tt := range specThresholds {
		got := probabilityToThreshold(tt.p)
		if got.th != tt.th {
			t.Errorf("p=%g: th %q, want %q", tt.p, got.th, tt.th)
		}
		if math.Abs(got.probability()-tt.actual) > 1e-15*tt.actual {
			t.Errorf("p=%g: encodes %.17g, want %.17g", tt.p, got.probability(), tt.actual)
		}
		if got.prec < len(got.th) {
			t.Errorf("p=%g: precision %d shorter than th %q", tt.p, got.prec, got.th)
		}
		if back, err := parseThreshold(got.th); err != nil || back != got.t {
			t.Errorf("p=%g: th %q parses to %d (%v), want %d", tt.p, got.th, back, err, got.t)
		}
	}
}

// TestThresholdRoundTrip checks, over many probabilities, what must hold
// of every encoding: at most 14 digits, no trailing zero, parse gives back
// the threshold, and the encoded probability is within the precision of
// the asked one.
func TestThresholdRoundTrip(t *testing.T) {
	for _, p := range []float64{1, 0.999, 0.75, 0.3, 0.05, 1e-3, 1e-7, 1e-12, 1e-16, 0x1p-56, 0x1p-60, 0, -1, math.NaN()} {
		got := probabilityToThreshold(p)
		if len(got.th) == 0 || len(got.th) > 14 || (got.th != "0" && strings.HasSuffix(got.th, "0")) {
			t.Errorf("p=%g: th %q", p, got.th)
		}
		back, err := parseThreshold(got.th)
		if err != nil || back != got.t || got.t >= maxThreshold {
			t.Errorf("p=%g: th %q parses to %d (%v), threshold %d", p, got.th, back, err, got.t)
		}
		// Precision is capped at 12 digits, so below ~2^-36 the relative
		// error grows, as the specification's algorithm accepts.
		if p >= 1e-9 && p <= 1 {
			if rel := math.Abs(got.probability()-p) / p; rel > 1e-3 {
				t.Errorf("p=%g: encodes %g (relative error %g)", p, got.probability(), rel)
			}
		}
	}
}

func TestEncodeThreshold(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xe666 << 40, 0xfd70a << 36, maxThreshold - 1} {
		th := encodeThreshold(v)
		back, err := parseThreshold(th.th)
		if err != nil || back != v || th.t != v {
			t.Errorf("encodeThreshold(%x) = %+v, parses to %x (%v)", v, th, back, err)
		}
	}
	if th := encodeThreshold(0xe666 << 40); th.th != "e666" || th.prec != 14 {
		t.Errorf("encodeThreshold(e666...) = %q", th.th)
	}
}

func TestParseThresholdRejectsBadValues(t *testing.T) {
	for _, th := range []string{"", "g", "123456789abcdef", "-1", "0x1", " 8"} {
		if _, err := parseThreshold(th); err == nil {
			t.Errorf("parseThreshold(%q) accepted", th)
		}
	}
	if v, err := parseThreshold("8"); err != nil || v != 1<<55 {
		t.Errorf("parseThreshold(8) = %x, %v; want 2^55", v, err)
	}
}

func TestParseOT(t *testing.T) {
	v := parseOT("th:c;rv:0123456789abcd;foo:bar")
	if !v.hasTh || v.th != 0xc<<52 || !v.hasRv || v.rv != 0x0123456789abcd {
		t.Fatalf("parseOT = %+v", v)
	}
	if got := v.withThreshold("e666"); got != "th:e666;rv:0123456789abcd;foo:bar" {
		t.Errorf("withThreshold = %q", got)
	}
	if got := v.withThreshold(""); got != "rv:0123456789abcd;foo:bar" {
		t.Errorf("withThreshold(\"\") = %q", got)
	}
	bad := parseOT("th:zz;rv:123;x")
	if bad.hasTh || bad.hasRv {
		t.Errorf("invalid sub-keys accepted: %+v", bad)
	}
}

// FuzzParseOT: any ot entry parses without panicking, and rewriting its
// threshold keeps every other sub-key and reads back the new threshold.
func FuzzParseOT(f *testing.F) {
	for _, s := range []string{"th:c", "rv:0123456789abcd;th:8", "th:;;rv:", "foo:bar;th:fffffffffffffff", ";", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v := parseOT(raw)
		out := v.withThreshold("e666")
		w := parseOT(out)
		if !w.hasTh || w.th != 0xe666<<40 {
			t.Fatalf("withThreshold(%q) = %q: th not read back", raw, out)
		}
		if w.hasRv != v.hasRv || w.rv != v.rv {
			t.Fatalf("withThreshold(%q) = %q: rv changed", raw, out)
		}
		n := 0
		for kv := range strings.SplitSeq(out, ";") {
			if strings.HasPrefix(kv, "th:") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("withThreshold(%q) = %q: %d th sub-keys", raw, out, n)
		}
	})
}
