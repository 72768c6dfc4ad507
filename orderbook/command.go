package orderbook

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
)

// Op is what a Command asks of a book.
type Op uint8

const (
	// OpSubmit places Command.Order (Book.Submit).
	OpSubmit Op = iota + 1
	// OpCancel cancels the resting order Command.Order.ID (Book.Cancel).
	OpCancel
	// OpModify changes the resting order Command.Order.ID to
	// Command.Order.Price and Command.Order.Qty (Book.Modify).
	OpModify
)

// String returns "submit", "cancel" or "modify".
func (op Op) String() string {
	switch op {
	case OpSubmit:
		return "submit"
	case OpCancel:
		return "cancel"
	case OpModify:
		return "modify"
	}
	return "invalid op"
}

var (
	// ErrUnknownOp is returned for a Command whose Op is not OpSubmit,
	// OpCancel or OpModify.
	ErrUnknownOp = errors.New("orderbook: unknown command op")
	// ErrMalformedCommand is returned when bytes do not decode to a
	// command: an unknown op, a field cut short, or a number that does not
	// fit in 64 bits.
	ErrMalformedCommand = errors.New("orderbook: malformed command encoding")
)

// Command is one instruction to a book: what the Engine takes from its
// callers, logs and replays. A cancel uses only Order.ID, a modify only
// Order.ID, Order.Price and Order.Qty, and a submit uses Order.Stop only
// for a stop order; the other fields are neither used nor logged.
type Command struct {
	Op    Op
	Order Order
}

var (
	_ encoding.BinaryAppender    = Command{}
	_ encoding.BinaryUnmarshaler = (*Command)(nil)
)

// Apply carries out the command on the book, as Submit, Cancel or Modify
// would, and appends the events. A command with an unknown Op is Rejected
// with ReasonInvalid.
func (b *Book) Apply(c Command, events []Event) []Event {
	switch c.Op {
	case OpSubmit:
		return b.Submit(c.Order, events)
	case OpCancel:
		return b.Cancel(c.Order.ID, events)
	case OpModify:
		return b.Modify(c.Order.ID, c.Order.Price, c.Order.Qty, events)
	}
	return append(events, Event{Kind: Rejected, Order: c.Order.ID, Price: c.Order.Price, Qty: c.Order.Qty, Reason: ReasonInvalid})
}

// AppendBinary appends the command's compact binary form to b: an op
// byte, then for a submit the side and kind bytes, ID, price, quantity,
// owner and, for a stop order, stop price; for a cancel the ID; for a modify the ID, price and
// quantity; numbers as varints (signed ones zig-zag), so a typical order
// takes 8 to 12 bytes. Any field values encode, valid or not, so that a
// logged command replays to the same rejection. It returns ErrUnknownOp
// for an unknown Op.
func (c Command) AppendBinary(b []byte) ([]byte, error) {
	o := &c.Order
	switch c.Op {
	case OpSubmit:
		b = append(b, byte(OpSubmit), byte(o.Side), byte(o.Kind))
		b = binary.AppendUvarint(b, uint64(o.ID))
		b = binary.AppendVarint(b, int64(o.Price))
		b = binary.AppendVarint(b, int64(o.Qty))
		b = binary.AppendUvarint(b, o.Owner)
		if o.Kind == Stop || o.Kind == StopLimit {
			b = binary.AppendVarint(b, int64(o.Stop))
		}
		return b, nil
	case OpCancel:
		return binary.AppendUvarint(append(b, byte(OpCancel)), uint64(o.ID)), nil
	case OpModify:
		b = binary.AppendUvarint(append(b, byte(OpModify)), uint64(o.ID))
		b = binary.AppendVarint(b, int64(o.Price))
		return binary.AppendVarint(b, int64(o.Qty)), nil
	}
	return b, fmt.Errorf("%w: %d", ErrUnknownOp, c.Op)
}

// UnmarshalBinary decodes one command that fills data exactly, as
// AppendBinary wrote it. It returns ErrMalformedCommand otherwise.
func (c *Command) UnmarshalBinary(data []byte) error {
	d, n, err := decodeCommand(data)
	if err != nil {
		return err
	}
	if n != len(data) {
		return fmt.Errorf("%w: %d bytes after the command", ErrMalformedCommand, len(data)-n)
	}
	*c = d
	return nil
}

// decodeCommand decodes the command at the start of b and returns it with
// the number of bytes it took.
func decodeCommand(b []byte) (Command, int, error) {
	r := decoder{b: b}
	var c Command
	c.Op = Op(r.byte())
	switch c.Op {
	case OpSubmit:
		c.Order.Side = Side(r.byte())
		c.Order.Kind = Kind(r.byte())
		c.Order.ID = OrderID(r.uvarint())
		c.Order.Price = Price(r.varint())
		c.Order.Qty = Qty(r.varint())
		c.Order.Owner = r.uvarint()
		if c.Order.Kind == Stop || c.Order.Kind == StopLimit {
			c.Order.Stop = Price(r.varint())
		}
	case OpCancel:
		c.Order.ID = OrderID(r.uvarint())
	case OpModify:
		c.Order.ID = OrderID(r.uvarint())
		c.Order.Price = Price(r.varint())
		c.Order.Qty = Qty(r.varint())
	default:
		if r.err == nil {
			r.err = fmt.Errorf("%w: op %d", ErrMalformedCommand, c.Op)
		}
	}
	if r.err != nil {
		return Command{}, 0, r.err
	}
	return c, r.off, nil
}

// decoder reads bytes and varints, keeping the first error.
type decoder struct {
	b    []byte
	off  int
	err  error
	kind error // what fail wraps: ErrMalformedCommand when nil
}

func (r *decoder) fail(what string) {
	if r.err == nil {
		kind := r.kind
		if kind == nil {
			kind = ErrMalformedCommand
		}
		r.err = fmt.Errorf("%w: %s at byte %d", kind, what, r.off)
	}
}

func (r *decoder) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("cut short")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *decoder) uvarint() uint64 { return readVarint(r, binary.Uvarint) }

func (r *decoder) varint() int64 { return readVarint(r, binary.Varint) }

// readVarint reads one varint with read (binary.Uvarint or binary.Varint).
func readVarint[T uint64 | int64](r *decoder, read func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	v, n := read(r.b[r.off:])
	switch {
	case n == 0:
		r.fail("cut short")
	case n < 0:
		r.fail("varint overflows 64 bits")
	default:
		r.off += n
	}
	return v
}
