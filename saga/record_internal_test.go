package saga

import (
	"bytes"
	"testing"
)

// FuzzDecodeState decodes arbitrary bytes as a saga record: an error, or
// a state that encodes back to exactly the same bytes.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"d":"transfer","f":"e3a9146eab93680a","p":"f","s":1}`))
	f.Add([]byte(`{"d":"transfer","v":"2","f":"e3a9146eab93680a","i":"aGk=","p":"c","s":0,"e":"declined","x":"notify"}`))
	f.Add([]byte(`{"d":"transfer","p":"f","s":1}`))
	f.Add([]byte(`{"D":"transfer","f":"x","p":"f","s":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		if again := st.encode(); !bytes.Equal(again, b) {
			t.Fatalf("decodeState(%q) = %+v, which encodes as %q", b, st, again)
		}
		if st.Def == "" || st.Steps == "" || (st.Phase != "f" && st.Phase != "c" && st.Phase != "s") {
			t.Fatalf("decodeState(%q) accepted %+v", b, st)
		}
	})
}
