package orderbook_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/otlpgo/otlpgo/orderbook"
)

func TestCommandBinaryRoundTrip(t *testing.T) {
	s := newCommandStream(1, 11)
	var buf []byte
	for range 10_000 {
		c := s.next()
		b, err := c.AppendBinary(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		buf = b
		var got orderbook.Command
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if want := canonical(c); got != want {
			t.Fatalf("round trip of %+v gave %+v", c, got)
		}
	}
	// Extreme and invalid field values encode too, so that they replay to
	// the same rejection.
	for _, c := range []orderbook.Command{
		{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: ^orderbook.OrderID(0), Side: 200, Kind: 0, Price: -1 << 63, Qty: 1<<63 - 1, Owner: ^uint64(0)}},
		{Op: orderbook.OpModify, Order: orderbook.Order{ID: 0, Price: 0, Qty: -5}},
	} {
		b, _ := c.AppendBinary(nil)
		var got orderbook.Command
		if err := got.UnmarshalBinary(b); err != nil || got != canonical(c) {
			t.Errorf("round trip of %+v gave %+v, %v", c, got, err)
		}
	}
}

// canonical keeps only the fields a command's op encodes.
func canonical(c orderbook.Command) orderbook.Command {
	switch c.Op {
	case orderbook.OpCancel:
		return orderbook.Command{Op: c.Op, Order: orderbook.Order{ID: c.Order.ID}}
	case orderbook.OpModify:
		return orderbook.Command{Op: c.Op, Order: orderbook.Order{ID: c.Order.ID, Price: c.Order.Price, Qty: c.Order.Qty}}
	}
	if c.Order.Kind != orderbook.Stop && c.Order.Kind != orderbook.StopLimit {
		c.Order.Stop = 0
	}
	return c
}

func TestCommandDecodeErrors(t *testing.T) {
	full, _ := orderbook.Command{Op: orderbook.OpSubmit, Order: orderbook.Order{ID: 300, Side: orderbook.Buy, Kind: orderbook.Limit, Price: 1000, Qty: 5, Owner: 9}}.AppendBinary(nil)
	overflow := append([]byte{byte(orderbook.OpCancel)}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	for name, b := range map[string][]byte{
		"empty":       nil,
		"unknown op":  {0x7f, 1},
		"zero op":     {0},
		"cut short":   full[:len(full)-1],
		"only the op": full[:1],
		"trailing":    append(slices.Clip(full), 0),
		"overflow":    overflow,
		"varint open": {byte(orderbook.OpCancel), 0x80},
	} {
		var c orderbook.Command
		if err := c.UnmarshalBinary(b); !errors.Is(err, orderbook.ErrMalformedCommand) {
			t.Errorf("%s: UnmarshalBinary(%x) = %v, want ErrMalformedCommand", name, b, err)
		}
	}
	if _, err := (orderbook.Command{Op: 9}).AppendBinary(nil); !errors.Is(err, orderbook.ErrUnknownOp) {
		t.Errorf("AppendBinary of op 9: %v, want ErrUnknownOp", err)
	}
	if ev := orderbook.NewBook().Apply(orderbook.Command{Op: 9, Order: orderbook.Order{ID: 1}}, nil); len(ev) != 1 || ev[0].Reason != orderbook.ReasonInvalid {
		t.Errorf("Apply of op 9: %+v, want one Rejected/invalid", ev)
	}
}

// FuzzCommandDecoder decodes arbitrary bytes as a stream of commands. It
// requires that decoding never panics, that every decoded command
// re-encodes to bytes that decode to it again, and, as a differential
// test, that the book and the reference book give identical events and
// depth for the decoded stream, with the book's invariants intact.
func FuzzCommandDecoder(f *testing.F) {
	s := newCommandStream(3, 6)
	for range 8 {
		var seed []byte
		for range 40 {
			seed, _ = s.next().AppendBinary(seed)
		}
		f.Add(seed)
	}
	f.Add([]byte{1, 1, 1, 1, 200, 1, 2, 0, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, r := orderbook.NewBook(orderbook.STP(len(data)%3)), &refBook{stp: orderbook.STP(len(data) % 3)}
		var events []orderbook.Event
		for len(data) > 0 {
			var c orderbook.Command
			n := commandLen(data)
			if err := c.UnmarshalBinary(data[:n]); err != nil {
				if !errors.Is(err, orderbook.ErrMalformedCommand) {
					t.Fatalf("decode error %v is not ErrMalformedCommand", err)
				}
				return
			}
			data = data[n:]
			enc, err := c.AppendBinary(nil)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", c, err)
			}
			var again orderbook.Command
			if err := again.UnmarshalBinary(enc); err != nil || again != c {
				t.Fatalf("re-encoded %+v decodes to %+v, %v", c, again, err)
			}
			want := r.apply(c)
			events = b.Apply(c, events[:0])
			if len(want) == 0 && len(events) == 0 {
				continue
			}
			if !slices.Equal(events, want) {
				t.Fatalf("%+v: events\n got %+v\nwant %+v", c, events, want)
			}
			for _, s := range []orderbook.Side{orderbook.Buy, orderbook.Sell} {
				if got, want := b.Depth(s, 1<<30, nil), r.depth(s); !slices.Equal(got, want) {
					t.Fatalf("%+v: %v depth\n got %+v\nwant %+v", c, s, got, want)
				}
			}
			if err := b.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// commandLen finds how many bytes the command at the start of b claims,
// by decoding with a growing length; a malformed one claims all of b.
func commandLen(b []byte) int {
	for n := 1; n <= len(b); n++ {
		var c orderbook.Command
		if c.UnmarshalBinary(b[:n]) == nil {
			return n
		}
	}
	return len(b)
}
