package txlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var bucket = []byte("otlpgo-txlog")

// Bolt is a Log in a bbolt file: each write is a bbolt transaction synced
// to disk before it returns, and concurrent writes are grouped into one
// transaction (bbolt's Batch), so that many coordinators' transitions
// share the two fdatasyncs of one commit. One process owns the file:
// Claim returns every unfinished transaction.
type Bolt struct {
	db *bolt.DB
}

var _ Log = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the log file at path. A second
// process opening the same file waits up to a second for the lock and
// then fails.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("txlog: open %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &Bolt{db: db}, nil
}

// batch runs fn in a grouped write transaction. bbolt may run fn more than
// once (when another function of the batch fails), so fn must only read
// and write the transaction.
func (b *Bolt) batch(ctx context.Context, fn func(*bolt.Bucket) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.Batch(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucket)) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Create implements Log.Create.
func (b *Bolt) Create(ctx context.Context, id string, state []byte) error {
	return b.batch(ctx, func(bk *bolt.Bucket) error {
		if bk.Get([]byte(id)) != nil {
			return ErrExists
		}
		return bk.Put([]byte(id), state)
	})
}

// Save implements Log.Save.
func (b *Bolt) Save(ctx context.Context, id string, state []byte) error {
	return b.batch(ctx, func(bk *bolt.Bucket) error {
		if bk.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return bk.Put([]byte(id), state)
	})
}

// Delete implements Log.Delete.
func (b *Bolt) Delete(ctx context.Context, id string) error {
	return b.batch(ctx, func(bk *bolt.Bucket) error { return bk.Delete([]byte(id)) })
}

// Claim implements Log.Claim.
func (b *Bolt) Claim(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Record
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			out = append(out, Record{string(k), slices.Clone(v)})
			return nil
		})
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return nil, ErrClosed
	}
	return out, err
}

// Close implements Log.Close.
func (b *Bolt) Close() error { return b.db.Close() }
