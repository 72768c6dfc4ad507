package orderbook_test

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/otlpgo/otlpgo/orderbook"
)

func TestParsePrice(t *testing.T) {
	quarter := orderbook.MustParseStep("0.25")
	cent := orderbook.MustParseStep("0.01")
	five := orderbook.MustParseStep("5")
	tests := []struct {
		in   string
		tick orderbook.Step
		want orderbook.Price
		err  error
	}{
		{"101.25", quarter, 405, nil},
		{"101.250000", quarter, 405, nil},
		{"0", quarter, 0, nil},
		{"-0", quarter, 0, nil},
		{".5", quarter, 2, nil},
		{"7.", quarter, 28, nil},
		{"0.01", cent, 1, nil},
		{"92233720368547758.07", cent, math.MaxInt64, nil},
		{"15", five, 3, nil},
		{"101.30", quarter, 0, orderbook.ErrOffGrid},
		{"0.001", cent, 0, orderbook.ErrOffGrid},
		{"12", five, 0, orderbook.ErrOffGrid},
		{"-1", quarter, 0, orderbook.ErrNegative},
		{"92233720368547758.08", cent, 0, orderbook.ErrOverflow},
		{"99999999999999999999", quarter, 0, orderbook.ErrOverflow},
		{"0.0000000000000000001", quarter, 0, orderbook.ErrOverflow},
		{"", quarter, 0, orderbook.ErrSyntax},
		{".", quarter, 0, orderbook.ErrSyntax},
		{"-", quarter, 0, orderbook.ErrSyntax},
		{"1.2.3", quarter, 0, orderbook.ErrSyntax},
		{"1e3", quarter, 0, orderbook.ErrSyntax},
		{" 1", quarter, 0, orderbook.ErrSyntax},
		{"+1", quarter, 0, orderbook.ErrSyntax},
		{"1,000", quarter, 0, orderbook.ErrSyntax},
	}
	for _, tt := range tests {
		got, err := orderbook.ParsePrice(tt.in, tt.tick)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) || got != tt.want {
			t.Errorf("ParsePrice(%q, %v) = %d, %v; want %d, %v", tt.in, tt.tick, got, err, tt.want, tt.err)
		}
		var pe *orderbook.ParseError
		if tt.err != nil && (!errors.As(err, &pe) || pe.Input != tt.in || pe.What != "price") {
			t.Errorf("ParsePrice(%q): error %v is not a *ParseError naming the price", tt.in, err)
		}
	}
}

func TestParseQtyAndStep(t *testing.T) {
	lot := orderbook.MustParseStep("0.001")
	if q, err := orderbook.ParseQty("1.5", lot); q != 1500 || err != nil {
		t.Errorf("ParseQty(1.5) = %d, %v", q, err)
	}
	if q, err := orderbook.ParseQty("1099511627.776", lot); q != orderbook.MaxQty || err != nil {
		t.Errorf("ParseQty(MaxQty lots) = %d, %v", q, err)
	}
	for in, want := range map[string]error{"0": orderbook.ErrZero, "0.000": orderbook.ErrZero, "-2": orderbook.ErrNegative, "0.0005": orderbook.ErrOffGrid, "x": orderbook.ErrSyntax,
		"1099511627.777": orderbook.ErrOverflow} { // MaxQty+1 lots of 0.001
		if _, err := orderbook.ParseQty(in, lot); !errors.Is(err, want) {
			t.Errorf("ParseQty(%q) = %v, want %v", in, err, want)
		}
	}
	for in, want := range map[string]error{"0": orderbook.ErrZero, "-0.25": orderbook.ErrNegative, "abc": orderbook.ErrSyntax} {
		if _, err := orderbook.ParseStep(in); !errors.Is(err, want) {
			t.Errorf("ParseStep(%q) = %v, want %v", in, err, want)
		}
	}
	var zero orderbook.Step
	if _, err := orderbook.ParsePrice("1", zero); !errors.Is(err, orderbook.ErrZero) {
		t.Errorf("ParsePrice with the zero Step = %v, want ErrZero", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustParseStep accepted a bad step")
			}
		}()
		orderbook.MustParseStep("-1")
	}()
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		step string
		n    int64
		want string
	}{
		{"0.25", 405, "101.25"},
		{"0.25", 0, "0.00"},
		{"0.01", 5, "0.05"},
		{"0.001", -1500, "-1.500"},
		{"5", 3, "15"},
		{"0.01", math.MaxInt64, "92233720368547758.07"},
		{"0.25", math.MinInt64, "-2305843009213693952.00"},
	} {
		if got := orderbook.MustParseStep(tt.step).Format(tt.n); got != tt.want {
			t.Errorf("Step(%s).Format(%d) = %q, want %q", tt.step, tt.n, got, tt.want)
		}
	}
	if s := orderbook.MustParseStep("0.250").String(); s != "0.25" {
		t.Errorf("Step(0.250).String() = %q", s)
	}
}

// FuzzParsePrice: any text and step parse without panicking, and a price
// that parses formats back to text that parses to the same price.
func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"101.25", "0", "-1", ".5", "1e3", "92233720368547758.07", "0.0000000001"} {
		f.Add(s, "0.25")
		f.Add(s, "0.01")
	}
	f.Fuzz(func(t *testing.T, price, step string) {
		st, err := orderbook.ParseStep(step)
		if err != nil {
			return
		}
		p, err := orderbook.ParsePrice(price, st)
		if err != nil {
			var pe *orderbook.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParsePrice(%q, %q): untyped error %v", price, step, err)
			}
			return
		}
		if p < 0 {
			t.Fatalf("ParsePrice(%q, %q) = %d, negative", price, step, p)
		}
		text := st.Format(int64(p))
		back, err := orderbook.ParsePrice(text, st)
		if err != nil || back != p {
			t.Fatalf("ParsePrice(%q, %q) = %d, formats as %q, which parses to %d, %v", price, step, p, text, back, err)
		}
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			t.Fatalf("Format wrote %q, not a number", text)
		}
	})
}
