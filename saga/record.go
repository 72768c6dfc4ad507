package saga

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/otlpgo/otlpgo/internal/txlog"
)

var (
	// ErrCorrupt is returned (wrapped) by OpenBoltLog and Recover when the
	// log's storage is damaged: a bbolt file that is empty, truncated or
	// fails its consistency checks, or a record whose checksum is wrong.
	// The error names the page or record; the file is left as it was, for
	// an operator.
	ErrCorrupt = txlog.ErrCorrupt
	// ErrLegacyLog is returned (wrapped) by OpenBoltLog for a bbolt file
	// written by the first release, which it leaves as it is, so that the
	// first release, rolled back to, still reads it: finish its sagas with
	// that release, or convert the file (ConvertBoltLog).
	ErrLegacyLog = txlog.ErrLegacyFormat
	// ErrUnsupportedVersion is returned (wrapped) by OpenBoltLog for a
	// bbolt file in a format newer than this release reads (written by a
	// newer release, then rolled back from). It does not wrap ErrCorrupt:
	// the file is left as it is, for a release that reads it.
	ErrUnsupportedVersion = txlog.ErrUnsupportedFormat
	// ErrDefinitionChanged is the cause in a *RecordError for a saga
	// written by a version of its definition that the coordinator was not
	// given: other steps (added, removed, renamed or reordered), or
	// another Definition.Version. List the old definition too (see New)
	// to let Recover finish such sagas.
	ErrDefinitionChanged = errors.New("saga: record written by another version of its definition")
	// ErrBadRecord is the cause in a *RecordError for a saga record that
	// does not decode, or whose step or phase does not fit its definition
	// (a damaged record, or one written by something else).
	ErrBadRecord = errors.New("saga: record does not fit its definition")
)

// RecordError is Recover's error for a saga whose record in the log does
// not fit the coordinator's definitions. Recover does not drive or delete
// such a saga: its record stays in the log as it was (quarantined), for an
// operator, and Recover goes on with the others. Err is ErrUnknownSaga,
// ErrDefinitionChanged or ErrBadRecord (match with errors.Is); Reason says
// what did not fit.
type RecordError struct {
	ID     string // the saga's ID, its key in the log
	Saga   string // the definition name the record gives ("" if unreadable)
	Reason string
	Err    error
}

// Error names the saga, the kind of misfit and the reason.
func (e *RecordError) Error() string {
	name := e.Saga
	if name == "" {
		name = "(unreadable)"
	}
	return fmt.Sprintf("saga %s %q: left in the log: %v: %s", name, e.ID, e.Err, e.Reason)
}

// Unwrap returns the kind: ErrUnknownSaga, ErrDefinitionChanged or
// ErrBadRecord.
func (e *RecordError) Unwrap() error { return e.Err }

// state is what the log holds for an unfinished saga, as canonical JSON
// (what json.Marshal writes): decodeState refuses any other form, so a
// record that decodes re-encodes to the same bytes.
type state struct {
	Def string `json:"d"`
	// Version and Steps identify the definition that wrote the record:
	// its Version and the fingerprint of its step names.
	Version string `json:"v,omitempty"`
	Steps   string `json:"f"`
	Input   []byte `json:"i,omitempty"`
	// Phase is "f" (forward: Step is the next action to run), "c"
	// (compensating: Step is the next compensation to run, going down) or
	// "s" (stuck at compensation Step).
	Phase  string `json:"p"`
	Step   int    `json:"s"`
	Cause  string `json:"e,omitempty"` // why it is compensating
	Failed string `json:"x,omitempty"` // the step whose failure it is compensating
}

func (st *state) encode() []byte {
	b, err := json.Marshal(st)
	if err != nil { // a struct of strings, bytes and an int always marshals
		panic("saga: encoding a record: " + err.Error())
	}
	return b
}

// errUnversioned is decodeState's error for a record without a
// definition version: one written before versions existed.
var errUnversioned = errors.New("written without a definition version (by a release before versions)")

// decodeState reads a record: canonical JSON of a state with a definition
// name and a phase, or an error.
func decodeState(b []byte) (state, error) {
	var st state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return state{}, fmt.Errorf("not a saga record: %v", err)
	}
	if st.Steps == "" {
		if st.Def == "" || (st.Phase != "f" && st.Phase != "c" && st.Phase != "s") {
			// null, {}, or no record of the first release either.
			return state{}, errors.New("not a saga record: no definition name, phase or version")
		}
		return st, errUnversioned
	}
	if !bytes.Equal(st.encode(), b) {
		// Also catches trailing data, repeated or differently cased keys:
		// nothing this package writes.
		return state{}, errors.New("not a saga record: not in the form this package writes")
	}
	if st.Def == "" {
		return st, errors.New("no definition name")
	}
	if st.Phase != "f" && st.Phase != "c" && st.Phase != "s" {
		return st, fmt.Errorf("unknown phase %q", st.Phase)
	}
	return st, nil
}

// fits reports why a decoded state cannot be driven by d, or nil.
// Forward, Step is the next action: 0 to len (len: every action done, the
// delete not yet written). Compensating, Step is the next compensation,
// below the failed step: -1 (all done) to len-2. Stuck, Step is the
// compensation that kept failing: 0 to len-2.
func (st *state) fits(d *Definition) error {
	n := len(d.Steps)
	switch st.Phase {
	case "f":
		if st.Step < 0 || st.Step > n {
			return fmt.Errorf("forward at step %d of %d", st.Step, n)
		}
		if st.Cause != "" || st.Failed != "" {
			return errors.New("forward with a failure recorded")
		}
		return nil
	case "c", "s":
		low := -1
		if st.Phase == "s" {
			low = 0
		}
		if st.Step < low || st.Step > n-2 {
			return fmt.Errorf("phase %q at step %d of %d", st.Phase, st.Step, n)
		}
		for i := st.Step + 1; i < n; i++ {
			if d.Steps[i].Name == st.Failed {
				return nil
			}
		}
		return fmt.Errorf("compensating the failure of %q, not a step after step %d", st.Failed, st.Step)
	}
	return fmt.Errorf("unknown phase %q", st.Phase)
}

// fingerprint identifies a definition's step list: the first 8 bytes of
// a SHA-256 of its name and its steps' names, in order, in hex.
func fingerprint(d *Definition) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, s := range append([]string{d.Name}, stepNames(d)...) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func stepNames(d *Definition) []string {
	out := make([]string, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.Name
	}
	return out
}

// defKey names one version of a definition.
type defKey struct{ name, version, steps string }
