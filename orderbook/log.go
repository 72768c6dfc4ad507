package orderbook

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/otlpgo/otlpgo/panics"
)

// The command log is a header, then frames. The header is the magic
// bytes, the book's self-trade prevention policy and the CRC-32C (little
// endian) of both. A frame is a varint payload length, the payload's
// CRC-32C, the CRC-32C of those two fields (so that a damaged length is
// told from a torn frame before the payload is read), and the payload,
// the binary form of one or more commands (Command.AppendBinary). The
// Engine writes one frame per batch with a single Write, so a crash can
// leave at most the last frame torn. Every byte is covered by a checksum:
// damage anywhere is ErrCorruptLog (or ErrNotLog, in the magic bytes),
// never a different book.
const (
	logMagic        = "OTLPGOB\x02" // the last byte is the format's version
	logHeaderSize   = len(logMagic) + 1 + 4
	maxFrameHeader  = binary.MaxVarintLen64 + 4 + 4
	maxFramePayload = 64 << 20 // far above any batch; a larger length is damage
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var (
	// ErrCorruptLog is returned when a command log is damaged: a checksum
	// that does not match, a header or frame that does not decode, or
	// (with ErrNotLog) bytes that are not a command log at all. Nothing
	// after the damage is read.
	ErrCorruptLog = errors.New("orderbook: corrupt command log")
	// ErrNotLog is returned when bytes that should hold a command log do
	// not begin with a command log's header: other magic bytes, another
	// version of the format, or (for OpenEngine) a file that is not empty
	// but too short to hold a header, or not a regular file at all (a
	// FIFO, a device, a socket). An error that wraps ErrNotLog wraps
	// ErrCorruptLog as well, so code that refuses any unreadable log need
	// not tell them apart. OpenEngine never writes to such a file.
	ErrNotLog = errors.New("orderbook: not a command log")
	// ErrTruncatedLog is returned when a command log ends inside a frame,
	// as a crash during a write leaves it. The commands of every whole
	// frame before it were read; the torn frame's commands were never
	// carried out, because the Engine logs a batch before matching it.
	ErrTruncatedLog = errors.New("orderbook: command log ends in a torn frame")
)

// notLog returns an error wrapping ErrNotLog and ErrCorruptLog.
func notLog(why string) error {
	return fmt.Errorf("%w (%w): %s", ErrNotLog, ErrCorruptLog, why)
}

// LogError reports a command log that could not be read or written, and
// where. Err wraps ErrCorruptLog, ErrNotLog or ErrTruncatedLog when
// reading (possibly with a decoding error), or is the io.Writer's error
// when writing.
type LogError struct {
	Offset int64 // byte offset of the frame (or header) at fault
	Err    error
}

// Error says what went wrong where.
func (e *LogError) Error() string {
	return fmt.Sprintf("orderbook: command log at byte %d: %v", e.Offset, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *LogError) Unwrap() error { return e.Err }

// appendLogHeader appends the log header for a book with the policy.
func appendLogHeader(b []byte, stp STP) []byte {
	start := len(b)
	b = append(append(b, logMagic...), byte(stp))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], crcTable))
}

// frameBuffer builds one frame. Commands are appended after room for the
// largest frame header, which finish then writes just before them, so
// that a frame goes out in one Write without copying.
type frameBuffer struct {
	buf []byte
}

func (f *frameBuffer) reset() {
	if cap(f.buf) < maxFrameHeader {
		f.buf = make([]byte, maxFrameHeader, 64<<10)
	}
	f.buf = f.buf[:maxFrameHeader]
}

func (f *frameBuffer) empty() bool { return len(f.buf) == maxFrameHeader }

// finish returns the whole frame.
func (f *frameBuffer) finish() []byte {
	payload := f.buf[maxFrameHeader:]
	var hdr [maxFrameHeader]byte
	n := binary.PutUvarint(hdr[:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(hdr[n:], crc32.Checksum(payload, crcTable))
	binary.LittleEndian.PutUint32(hdr[n+4:], crc32.Checksum(hdr[:n+4], crcTable))
	start := maxFrameHeader - n - 8
	copy(f.buf[start:], hdr[:n+8])
	return f.buf[start:]
}

// logReader reads a command log frame by frame.
type logReader struct {
	r       *bufio.Reader
	off     int64 // offset of the next frame
	seq     uint64
	sum     uint32 // the checksum of the payload whose header was read last
	payload []byte
}

func newLogReader(r io.Reader) (*logReader, STP, error) {
	size := 256 << 10
	if l, ok := r.(interface{ Len() int }); ok && l.Len() < size { // a bytes.Reader holding a short log
		size = l.Len()
	}
	lr := &logReader{r: bufio.NewReaderSize(r, size)}
	var hdr [logHeaderSize]byte
	n, err := io.ReadFull(lr.r, hdr[:])
	magic := hdr[:min(n, len(logMagic))]
	switch {
	case string(magic) != logMagic[:len(magic)]:
		if len(magic) == len(logMagic) && string(magic[:len(magic)-1]) == logMagic[:len(logMagic)-1] {
			return nil, 0, &LogError{Offset: 0, Err: notLog(fmt.Sprintf("format version %d, not %d", magic[len(magic)-1], logMagic[len(logMagic)-1]))}
		}
		return nil, 0, &LogError{Offset: 0, Err: notLog("bad magic bytes")}
	case err == io.EOF || err == io.ErrUnexpectedEOF: // as a crash just after creating the file leaves it
		return nil, 0, &LogError{Offset: 0, Err: fmt.Errorf("%w: header cut short", ErrTruncatedLog)}
	case err != nil:
		return nil, 0, &LogError{Offset: 0, Err: err}
	}
	stp := STP(hdr[len(logMagic)])
	if binary.LittleEndian.Uint32(hdr[len(logMagic)+1:]) != crc32.Checksum(hdr[:len(logMagic)+1], crcTable) {
		return nil, 0, &LogError{Offset: 0, Err: fmt.Errorf("%w: header checksum mismatch", ErrCorruptLog)}
	}
	if stp > CancelBoth {
		return nil, 0, &LogError{Offset: 0, Err: fmt.Errorf("%w: self-trade prevention policy %d", ErrCorruptLog, stp)}
	}
	lr.off = int64(logHeaderSize)
	return lr, stp, nil
}

// next calls fn for each command of the next frame, and returns io.EOF at
// a clean end of the log.
func (lr *logReader) next(fn func(seq uint64, c Command) error) error {
	fail := func(err error) error { return &LogError{Offset: lr.off, Err: err} }
	size, hdrLen, err := lr.frameHeader()
	switch {
	case err == io.EOF:
		return io.EOF
	case err != nil:
		return fail(err)
	case size == 0 || size > maxFramePayload:
		return fail(fmt.Errorf("%w: frame length %d", ErrCorruptLog, size))
	}
	if cap(lr.payload) < int(size) {
		lr.payload = make([]byte, int(size))
	}
	payload := lr.payload[:int(size)]
	if _, err := io.ReadFull(lr.r, payload); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fail(fmt.Errorf("%w: %d-byte frame cut short", ErrTruncatedLog, size))
		}
		return fail(err)
	}
	if crc32.Checksum(payload, crcTable) != lr.sum {
		return fail(fmt.Errorf("%w: checksum mismatch", ErrCorruptLog))
	}
	// Decode the whole frame before acting on any of it, so that a frame
	// is carried out entirely or not at all.
	for off := 0; off < len(payload); {
		_, n, err := decodeCommand(payload[off:])
		if err != nil {
			return fail(fmt.Errorf("%w: %w", ErrCorruptLog, err))
		}
		off += n
	}
	for off := 0; off < len(payload); {
		c, n, _ := decodeCommand(payload[off:])
		off += n
		lr.seq++
		if err := fn(lr.seq, c); err != nil {
			return err
		}
	}
	lr.off += int64(hdrLen) + int64(size)
	return nil
}

// frameHeader reads a frame's header, checks its checksum, keeps the
// payload's checksum in lr.sum, and returns the payload's length and the
// header's size in bytes; io.EOF if the log ends cleanly before it.
func (lr *logReader) frameHeader() (uint64, int, error) {
	var hdr [maxFrameHeader]byte
	var x uint64
	n := 0
	for i := range binary.MaxVarintLen64 {
		b, err := lr.r.ReadByte()
		switch {
		case err == io.EOF && i == 0:
			return 0, 0, io.EOF
		case err == io.EOF:
			return 0, 0, fmt.Errorf("%w: frame length cut short", ErrTruncatedLog)
		case err != nil:
			return 0, 0, err
		}
		hdr[i] = b
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, 0, fmt.Errorf("%w: frame length overflows", ErrCorruptLog)
			}
			x |= uint64(b) << (7 * i)
			n = i + 1
			break
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("%w: frame length overflows", ErrCorruptLog)
	}
	if _, err := io.ReadFull(lr.r, hdr[n:n+8]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, 0, fmt.Errorf("%w: frame header cut short", ErrTruncatedLog)
		}
		return 0, 0, err
	}
	if binary.LittleEndian.Uint32(hdr[n+4:]) != crc32.Checksum(hdr[:n+4], crcTable) {
		return 0, 0, fmt.Errorf("%w: frame header checksum mismatch", ErrCorruptLog)
	}
	lr.sum = binary.LittleEndian.Uint32(hdr[n:])
	return x, n + 8, nil
}

// ReadLog reads a command log as an Engine writes it and calls fn with
// each command and its sequence number (1 for the first), in order. It
// stops at fn's first error and returns it. A log that ends inside a
// frame, as a crash during a write leaves it, yields every command of the
// whole frames and then a *LogError wrapping ErrTruncatedLog (empty input,
// or a prefix of a header, is such a log); a damaged one yields a
// *LogError wrapping ErrCorruptLog, and bytes that do not begin as a
// command log one wrapping ErrNotLog (and ErrCorruptLog). A frame is passed to fn
// only once all of it has been checked. A nil fn checks the whole log. A
// panic in fn stops the reading, and ReadLog returns it as a
// *panics.Error with its stack.
func ReadLog(r io.Reader, fn func(seq uint64, c Command) error) error {
	lr, _, err := newLogReader(r)
	if err != nil {
		return err
	}
	call := func(seq uint64, c Command) error { return nil }
	if fn != nil {
		call = func(seq uint64, c Command) error { return callLogFunc(fn, seq, c) }
	}
	for {
		if err := lr.next(call); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// callLogFunc calls ReadLog's fn, turning a panic into a *panics.Error.
func callLogFunc(fn func(uint64, Command) error, seq uint64, c Command) (err error) {
	defer panics.Recover(&err)
	return fn(seq, c)
}

// Replay rebuilds a book from a command log: a new book with the logged
// self-trade prevention policy, to which every logged command is applied
// in order. It returns the book, the number of commands applied, and the
// error that ended the log early, as ReadLog would report it. After an
// ErrTruncatedLog the book is the state after the last whole frame, which
// is the state the Engine had reached before the crash, so it is returned
// as well (unless the header itself is torn); after any other error the
// book is nil.
//
// A book rebuilt from the log of an Engine has the same snapshot
// (AppendSnapshot) as the Engine's book had.
func Replay(r io.Reader) (*Book, uint64, error) {
	b, seq, _, err := replay(r)
	return b, seq, err
}

// replay is Replay that also returns the offset just past the last whole
// frame, where an Engine appending to the log goes on.
func replay(r io.Reader) (*Book, uint64, int64, error) {
	lr, stp, err := newLogReader(r)
	if err != nil {
		return nil, 0, 0, err
	}
	b := NewBook(stp)
	events := make([]Event, 0, 64)
	apply := func(_ uint64, c Command) error {
		events = b.Apply(c, events[:0])
		return nil
	}
	for {
		err := lr.next(apply)
		switch {
		case err == io.EOF:
			return b, lr.seq, lr.off, nil
		case errors.Is(err, ErrTruncatedLog):
			return b, lr.seq, lr.off, err
		case err != nil:
			return nil, lr.seq, lr.off, err
		}
	}
}
