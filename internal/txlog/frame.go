package txlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A record's value in the bbolt log is framed so that damage to it, or
// to its key, is found: bbolt checksums its meta pages but not its data
// pages. A frame is
//
//	magic (1 byte) | CRC-32C (4 bytes, big-endian) | state
//
// where the CRC covers the key's length (uvarint), the key and the state.
const (
	frameMagic  = 0xC5
	frameHeader = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func frameSum(key string, state []byte) uint32 {
	var n [binary.MaxVarintLen64]byte
	sum := crc32.Update(0, castagnoli, n[:binary.PutUvarint(n[:], uint64(len(key)))])
	sum = crc32.Update(sum, castagnoli, []byte(key))
	return crc32.Update(sum, castagnoli, state)
}

// encodeFrame returns the stored value of a record.
func encodeFrame(key string, state []byte) []byte {
	b := make([]byte, frameHeader, frameHeader+len(state))
	b[0] = frameMagic
	binary.BigEndian.PutUint32(b[1:], frameSum(key, state))
	return append(b, state...)
}

// decodeFrame returns the state a stored value holds (a copy), or an
// error wrapping ErrCorrupt that names the key.
func decodeFrame(key string, v []byte) ([]byte, error) {
	if len(v) < frameHeader || v[0] != frameMagic {
		return nil, fmt.Errorf("%w: record %q: not a framed record (%d bytes)", ErrCorrupt, key, len(v))
	}
	state := v[frameHeader:]
	if want, got := binary.BigEndian.Uint32(v[1:]), frameSum(key, state); want != got {
		return nil, fmt.Errorf("%w: record %q: checksum %08x, computed %08x", ErrCorrupt, key, want, got)
	}
	return append([]byte{}, state...), nil
}
