// Package txlog is the durable log that the saga and twopc coordinators
// write every transition to before acting on it: a record of state per
// unfinished transaction, created once, replaced as it moves on, deleted
// when it ends. Implementations: in memory (tests), a bbolt file (the
// default; concurrent writes share one commit), and PostgreSQL (several
// coordinator processes, each claiming unfinished work with a lease).
//
// A damaged bbolt file is an error wrapping ErrCorrupt, never a panic or
// an empty log: OpenBolt checks every page the file uses before bbolt
// reads it (bbolt trusts its file), then runs bbolt's consistency check
// and reads every record; each record's value carries a CRC-32C of its
// key and state, and the file a count of its records, so that damage to
// data pages (which bbolt does not checksum) is found too. Only a missing
// file is created, atomically (written aside under a name of its own,
// then linked into place, never over anything). A file of the first
// release (unframed records) is refused with ErrLegacyFormat and left as
// it is, so that the first release, rolled back to, still reads it;
// ConvertBolt converts it when the operator says so.
// TestBoltDamageMatrix damages a real log in some 660 ways (truncations,
// flipped bytes in every page) and checks each ends in ErrCorrupt or in
// reading back exactly what was written.
package txlog

import (
	"context"
	"errors"
)

var (
	// ErrExists is returned by Create for an ID the log already holds.
	ErrExists = errors.New("txlog: transaction already exists")
	// ErrNotFound is returned by Save for an ID the log does not hold.
	ErrNotFound = errors.New("txlog: no such transaction")
	// ErrClosed is returned once the log is closed.
	ErrClosed = errors.New("txlog: closed")
	// ErrLeaseLost is returned by Save and Delete of a shared log when
	// another coordinator has taken the transaction over (its lease
	// expired): the caller must stop driving it.
	ErrLeaseLost = errors.New("txlog: another coordinator holds this transaction")
	// ErrCorrupt is returned when a log's storage is damaged: a bbolt
	// file that is empty, truncated or fails its checks, or a record
	// whose checksum or format is wrong. The error names what failed
	// (the page, the record's key). The log is left as it was, for an
	// operator: nothing is repaired or dropped.
	ErrCorrupt = errors.New("txlog: log is damaged")
	// ErrLegacyFormat is returned by OpenBolt for a log file written by
	// the first release (unframed records), which it leaves as it is:
	// finish its transactions with that release, or convert the file with
	// ConvertBolt (after which that release reads it as an empty log).
	ErrLegacyFormat = errors.New("txlog: log file of the first release, not converted")
	// ErrUnsupportedFormat is returned by OpenBolt for a log file in a
	// format newer than this release reads (written by a newer release,
	// then rolled back from). It does not wrap ErrCorrupt: the file is
	// not damaged, and is left as it is; open it with a release that
	// reads its format.
	ErrUnsupportedFormat = errors.New("txlog: log file of a newer format")
)

// Record is one unfinished transaction's last written state.
type Record struct {
	ID    string
	State []byte
}

// Log is a durable store of transaction records. Every method returns
// only once its write is durable (for the bbolt log: synced to disk), so
// that a coordinator may act on it. A Log is safe for concurrent use.
type Log interface {
	// Create writes a new transaction's first state, or returns ErrExists.
	Create(ctx context.Context, id string, state []byte) error
	// Save replaces a transaction's state, or returns ErrNotFound.
	Save(ctx context.Context, id string, state []byte) error
	// Delete forgets an ended transaction (deleting a missing one is not
	// an error).
	Delete(ctx context.Context, id string) error
	// Claim returns the unfinished transactions the caller may drive: for
	// a log one process owns, all of them; for a shared one, its own and
	// those whose lease expired, now leased to it.
	Claim(ctx context.Context) ([]Record, error)
	// Close releases the log's resources.
	Close() error
}
