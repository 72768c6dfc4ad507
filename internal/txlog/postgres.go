package txlog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is a Log in a PostgreSQL table that several coordinator
// processes share. Each transaction is leased to the coordinator that
// writes it, and every write renews the lease; Claim returns the
// caller's own transactions and takes over those whose lease expired
// (their coordinator died), with one conditional UPDATE, so that two
// coordinators never drive the same transaction at once. A coordinator
// whose lease was taken gets ErrLeaseLost from its next write and stops.
// Each write is one statement, durable when PostgreSQL commits it.
type Postgres struct {
	pool   *pgxpool.Pool
	table  string
	owner  string
	lease  time.Duration
	closed atomic.Bool
}

var _ Log = (*Postgres)(nil)

var validTable = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// NewPostgres returns the log in table (created if missing) for the
// coordinator named owner, with leases of the given length (renewed by
// each write: make it longer than any step takes).
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, table, owner string, lease time.Duration) (*Postgres, error) {
	if !validTable.MatchString(table) || owner == "" || lease <= 0 {
		return nil, fmt.Errorf("txlog: invalid PostgreSQL log: table %q (lower-case SQL name), owner %q (non-empty), lease %v (positive)", table, owner, lease)
	}
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		id          text PRIMARY KEY,
		state       bytea NOT NULL,
		owner       text NOT NULL,
		lease_until timestamptz NOT NULL
	)`)
	if err != nil {
		return nil, err
	}
	return &Postgres{pool: pool, table: table, owner: owner, lease: lease}, nil
}

// Create implements Log.Create.
func (p *Postgres) Create(ctx context.Context, id string, state []byte) error {
	if p.closed.Load() {
		return ErrClosed
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO `+p.table+` (id, state, owner, lease_until)
		VALUES ($1, $2, $3, now() + $4 * interval '1 microsecond') ON CONFLICT (id) DO NOTHING`, id, state, p.owner, p.lease.Microseconds())
	switch {
	case err != nil:
		return err
	case tag.RowsAffected() == 0:
		return ErrExists
	}
	return nil
}

// write runs an UPDATE or DELETE that only touches a row this owner
// holds, and tells a missing row from one another owner took.
func (p *Postgres) write(ctx context.Context, id, sql string, args ...any) error {
	if p.closed.Load() {
		return ErrClosed
	}
	tag, err := p.pool.Exec(ctx, sql, args...)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	var owner string
	err = p.pool.QueryRow(ctx, `SELECT owner FROM `+p.table+` WHERE id = $1`, id).Scan(&owner)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return err
	}
	return ErrLeaseLost
}

// Save implements Log.Save.
func (p *Postgres) Save(ctx context.Context, id string, state []byte) error {
	return p.write(ctx, id, `UPDATE `+p.table+` SET state = $2, lease_until = now() + $4 * interval '1 microsecond'
		WHERE id = $1 AND owner = $3`, id, state, p.owner, p.lease.Microseconds())
}

// Delete implements Log.Delete.
func (p *Postgres) Delete(ctx context.Context, id string) error {
	err := p.write(ctx, id, `DELETE FROM `+p.table+` WHERE id = $1 AND owner = $2`, id, p.owner)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Claim implements Log.Claim.
func (p *Postgres) Claim(ctx context.Context) ([]Record, error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := p.pool.Query(ctx, `UPDATE `+p.table+` SET owner = $1, lease_until = now() + $2 * interval '1 microsecond'
		WHERE owner = $1 OR lease_until < now() RETURNING id, state`, p.owner, p.lease.Microseconds())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.State); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Close stops the log's use; the pool belongs to the caller and stays
// open.
func (p *Postgres) Close() error {
	p.closed.Store(true)
	return nil
}
