package txlog

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzFrame decodes arbitrary bytes as a record's stored value: the
// result is ErrCorrupt or a state that encodes back to the same bytes;
// and every state round-trips.
func FuzzFrame(f *testing.F) {
	f.Add("saga-1", encodeFrame("saga-1", []byte(`{"d":"transfer","p":"f","s":1}`)))
	f.Add("t", encodeFrame("t", nil))
	f.Add("", []byte{frameMagic, 0, 0, 0, 0})
	f.Add("x", []byte(`{"p":"f"}`))
	f.Fuzz(func(t *testing.T, key string, v []byte) {
		state, err := decodeFrame(key, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || state != nil {
				t.Fatalf("decodeFrame(%q, %x) = %x, %v", key, v, state, err)
			}
		} else if again := encodeFrame(key, state); !bytes.Equal(again, v) {
			t.Fatalf("decodeFrame(%q, %x) = %x, which encodes as %x", key, v, state, again)
		}
		back, err := decodeFrame(key, encodeFrame(key, v))
		if err != nil || !bytes.Equal(back, v) {
			t.Fatalf("%x did not round-trip under key %q: %x, %v", v, key, back, err)
		}
		if len(key) > 0 { // another key does not pass the checksum
			if _, err := decodeFrame(key[1:], encodeFrame(key, v)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("a frame of key %q read under key %q: %v", key, key[1:], err)
			}
		}
	})
}
