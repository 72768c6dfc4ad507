package txlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/otlpgo/otlpgo/panics"
)

// The file holds two buckets: records (ID → framed state, see frame.go)
// and meta (the format, and how many records there are, so that a
// record lost to damage is found). A file of the first release holds one
// bucket, legacyBucket, of unframed JSON states; OpenBolt refuses it
// (ErrLegacyFormat) and ConvertBolt converts it.
var (
	recordsBucket = []byte("otlpgo-txlog-records")
	metaBucket    = []byte("otlpgo-txlog-meta")
	legacyBucket  = []byte("otlpgo-txlog")
	formatKey     = []byte("format")
	countKey      = []byte("count")
	format2       = []byte("2")
)

// Bolt is a Log in a bbolt file: each write is a bbolt transaction synced
// to disk before it returns, and concurrent writes are grouped into one
// transaction (bbolt's Batch), so that many coordinators' transitions
// share the two fdatasyncs of one commit. One process owns the file:
// Claim returns every unfinished transaction.
//
// A damaged file is an error wrapping ErrCorrupt, never a panic: OpenBolt
// checks the file's pages before bbolt reads them, runs bbolt's
// consistency check and reads every record; each record carries a
// CRC-32C of its ID and state, and the file a count of its records.
type Bolt struct {
	db *bolt.DB
}

var _ Log = (*Bolt)(nil)

// OpenBolt opens the log file at path, creating it if it does not exist.
// An existing file must be a whole log: an empty, truncated or damaged
// file is an error wrapping ErrCorrupt, and it is left as it is. A file
// of the first release is not converted: OpenBolt returns an error
// wrapping ErrLegacyFormat and leaves it as it is (see ConvertBolt); a
// file of a newer release's format, ErrUnsupportedFormat. A
// symbolic link at path whose target does not exist is an error wrapping
// fs.ErrNotExist, not replaced by a new log. A second process opening the
// same file waits up to a second for the lock and then fails. Opening
// reads the whole file (a log holds unfinished transactions only, and
// stays small).
func OpenBolt(path string) (*Bolt, error) { return openBolt(path, false) }

// ConvertBolt converts a log file of the first release at path to the
// current format, in one transaction: it frames and counts its records
// and deletes the first release's bucket, so that the first release
// then reads the file as an empty log. Run it once the first release is
// gone for good (or once it has finished its transactions). A file
// already in the current format is left as it is; a missing file is an
// error wrapping fs.ErrNotExist; a damaged one, ErrCorrupt.
func ConvertBolt(path string) error {
	l, err := openBolt(path, true)
	if err != nil {
		return err
	}
	return l.Close()
}

func openBolt(path string, convert bool) (*Bolt, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !convert:
		if err := createBolt(path); err != nil {
			return nil, fmt.Errorf("txlog: create %s: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("txlog: open %s: %w", path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			target, _ := os.Readlink(path)
			return nil, fmt.Errorf("txlog: open %s: a symbolic link to %q, which does not exist (a log is not created through a dangling link): %w", path, target, fs.ErrNotExist)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("txlog: open %s: %w", path, err)
	}
	if err := lockFile(f, time.Second); err != nil {
		f.Close()
		return nil, fmt.Errorf("txlog: open %s: %w", path, err)
	}
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
	if err == nil {
		err = guard(func() error { return verifyBoltFile(b) })
	}
	if err != nil {
		f.Close()
		return nil, corrupt(path, err)
	}
	var db *bolt.DB
	err = guard(func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second,
			OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil }})
		return err
	})
	if err != nil {
		f.Close() // bbolt closed it too, unless it panicked
		return nil, corrupt(path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	l := &Bolt{db: db}
	if err := l.check(convert); err != nil {
		_ = guard(db.Close)
		if errors.Is(err, ErrLegacyFormat) || errors.Is(err, ErrUnsupportedFormat) {
			return nil, fmt.Errorf("txlog: open %s: %w", path, err)
		}
		return nil, corrupt(path, err)
	}
	return l, nil
}

// corrupt wraps what is wrong with the file at path as ErrCorrupt.
func corrupt(path string, err error) error {
	if !errors.Is(err, ErrCorrupt) {
		err = fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return fmt.Errorf("%w [%s]", err, path)
}

// guard runs fn, which reads or writes the bbolt file, turning a panic
// (bbolt's, or a fault reading its memory map) into an error wrapping
// ErrCorrupt.
func guard(fn func() error) error {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err := panics.Try(fn)
	var pe *panics.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// createBolt writes a new empty log next to path and renames it into
// place, so that a crash never leaves an empty or half-made log at path.
//
// The new file has a name of its own (os.CreateTemp), so that no file of
// someone else's is removed, and is linked to path rather than renamed
// over it, so that whatever appeared at path meanwhile (a file, a
// symbolic link) is never replaced: the link then fails, and path is
// opened as it is.
func createBolt(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Close(); err != nil {
		return err
	}
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = db.Update(initBuckets)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile: opened as it is
		}
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func initBuckets(tx *bolt.Tx) error {
	m, err := tx.CreateBucket(metaBucket)
	if err == nil {
		_, err = tx.CreateBucket(recordsBucket)
	}
	if err == nil {
		err = m.Put(formatKey, format2)
	}
	if err == nil {
		err = m.Put(countKey, make([]byte, 8))
	}
	return err
}

// check runs at open: bbolt's consistency check, the file's buckets (a
// file of the first release is ErrLegacyFormat, or converted if convert),
// and every record.
func (l *Bolt) check(convert bool) error {
	return guard(func() error {
		err := l.db.View(func(tx *bolt.Tx) (first error) {
			for err := range tx.Check() { // drain: Check's goroutine sends them all
				if first == nil {
					first = err
				}
			}
			return first
		})
		if err != nil {
			return err
		}
		var legacy, empty bool
		err = l.db.View(func(tx *bolt.Tx) error {
			if m := tx.Bucket(metaBucket); m != nil {
				if f := m.Get(formatKey); newerFormat(f) {
					return fmt.Errorf("%w: format %s, this release reads format %s: open it with the release that wrote it, or a newer one", ErrUnsupportedFormat, f, format2)
				}
			}
			var names [][]byte
			err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, bytes.Clone(name))
				return nil
			})
			switch {
			case err != nil:
				return err
			case len(names) == 2 && bytes.Equal(names[0], metaBucket) && bytes.Equal(names[1], recordsBucket):
				_, err := readRecords(tx)
				return err
			case len(names) == 1 && bytes.Equal(names[0], legacyBucket):
				legacy = true
				return nil
			case len(names) == 0 && tx.ID() <= 1: // nothing ever committed: bbolt made the file, a crash came before the first release's log did
				empty = true
				return nil
			}
			return fmt.Errorf("unexpected buckets %q", names)
		})
		switch {
		case err != nil:
			return err
		case legacy && !convert:
			return fmt.Errorf("%w: finish its transactions with the first release, or convert it (ConvertBolt), after which the first release reads it as empty", ErrLegacyFormat)
		case legacy:
			return l.db.Update(convertLegacy)
		case empty:
			return l.db.Update(initBuckets)
		}
		return nil
	})
}

// newerFormat reports whether f, a meta bucket's format, is a decimal
// number above this release's: a file of a newer release, not damage.
func newerFormat(f []byte) bool {
	n, err := strconv.ParseUint(string(f), 10, 32)
	return err == nil && n > 2 && string(f) == strconv.FormatUint(n, 10)
}

// convertLegacy frames the first release's records (JSON objects) and
// moves them to the records bucket, counted, in one transaction.
func convertLegacy(tx *bolt.Tx) error {
	old := tx.Bucket(legacyBucket)
	if err := initBuckets(tx); err != nil {
		return err
	}
	recs := tx.Bucket(recordsBucket)
	n := uint64(0)
	err := old.ForEach(func(k, v []byte) error {
		if len(v) == 0 || v[0] != '{' { // nil: a nested bucket
			return fmt.Errorf("%w: record %q of a first-release log is not a JSON object", ErrCorrupt, k)
		}
		n++
		return recs.Put(k, encodeFrame(string(k), v))
	})
	if err != nil {
		return err
	}
	if err := putCount(tx.Bucket(metaBucket), n); err != nil {
		return err
	}
	return tx.DeleteBucket(legacyBucket)
}

// readRecords reads and checks every record and the count: any damage
// found is an error wrapping ErrCorrupt.
func readRecords(tx *bolt.Tx) ([]Record, error) {
	m, recs := tx.Bucket(metaBucket), tx.Bucket(recordsBucket)
	n, err := count(m)
	if err != nil {
		return nil, err
	}
	var out []Record
	err = recs.ForEach(func(k, v []byte) error {
		if v == nil {
			return fmt.Errorf("%w: record %q is a bucket", ErrCorrupt, k)
		}
		state, err := decodeFrame(string(k), v)
		if err != nil {
			return err
		}
		out = append(out, Record{ID: string(k), State: state})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != n {
		return nil, fmt.Errorf("%w: %d records, the log counted %d", ErrCorrupt, len(out), n)
	}
	return out, nil
}

// count returns the meta bucket's record count, checking the bucket.
func count(m *bolt.Bucket) (uint64, error) {
	f, c := m.Get(formatKey), m.Get(countKey)
	if !bytes.Equal(f, format2) || len(c) != 8 || m.Stats().KeyN != 2 {
		return 0, fmt.Errorf("%w: meta bucket: format %q, count %x, %d keys", ErrCorrupt, f, c, m.Stats().KeyN)
	}
	return binary.BigEndian.Uint64(c), nil
}

func putCount(m *bolt.Bucket, n uint64) error {
	return m.Put(countKey, binary.BigEndian.AppendUint64(nil, n))
}

// batch runs fn in a grouped write transaction. bbolt may run fn more than
// once (when another function of the batch fails), so fn must only read
// and write the transaction.
func (l *Bolt) batch(ctx context.Context, fn func(recs, meta *bolt.Bucket) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := l.db.Batch(func(tx *bolt.Tx) error { return fn(tx.Bucket(recordsBucket), tx.Bucket(metaBucket)) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// add changes the record count by d (+1 or -1).
func add(m *bolt.Bucket, d int64) error {
	n, err := count(m)
	if err != nil {
		return err
	}
	return putCount(m, uint64(int64(n)+d))
}

// Create implements Log.Create.
func (l *Bolt) Create(ctx context.Context, id string, state []byte) error {
	return l.batch(ctx, func(recs, m *bolt.Bucket) error {
		if recs.Get([]byte(id)) != nil {
			return ErrExists
		}
		if err := add(m, 1); err != nil {
			return err
		}
		return recs.Put([]byte(id), encodeFrame(id, state))
	})
}

// Save implements Log.Save.
func (l *Bolt) Save(ctx context.Context, id string, state []byte) error {
	return l.batch(ctx, func(recs, _ *bolt.Bucket) error {
		if recs.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return recs.Put([]byte(id), encodeFrame(id, state))
	})
}

// Delete implements Log.Delete.
func (l *Bolt) Delete(ctx context.Context, id string) error {
	return l.batch(ctx, func(recs, m *bolt.Bucket) error {
		if recs.Get([]byte(id)) == nil {
			return nil
		}
		if err := add(m, -1); err != nil {
			return err
		}
		return recs.Delete([]byte(id))
	})
}

// Claim implements Log.Claim. A record whose checksum fails, or a count
// that does not match, is an error wrapping ErrCorrupt (no records).
func (l *Bolt) Claim(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Record
	err := guard(func() error {
		return l.db.View(func(tx *bolt.Tx) (err error) {
			out, err = readRecords(tx)
			return err
		})
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
}

// Close implements Log.Close.
func (l *Bolt) Close() error { return l.db.Close() }
