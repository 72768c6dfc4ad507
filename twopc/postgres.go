package twopc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// undefinedObject is the SQLSTATE of COMMIT PREPARED and ROLLBACK
// PREPARED for a transaction ID with no prepared transaction: already
// finished, or (for a rollback) never prepared.
const undefinedObject = "42704"

// Postgres is a participant's database: PostgreSQL's prepared
// transactions ("PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK
// PREPARED", which need max_prepared_transactions > 0 on the server). It
// is the Resource that finishes its participants' parts, and makes them
// with Participant.
//
// The prepared transaction's ID (gid) is the transaction ID, a dot and
// the participant name, so that several participants may share one
// server. A prepared transaction survives a server crash and a lost
// connection, and is committed from any session: recovery needs only the
// ID.
//
// A Postgres is safe for concurrent use by multiple goroutines. The zero
// Postgres has no database: its methods return ErrInvalidID.
type Postgres struct {
	name string
	pool *pgxpool.Pool
}

var _ Resource = (*Postgres)(nil)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// NewPostgres returns the resource for participant name on pool. The name
// (letters, digits, "_" and "-", at most 40) becomes part of every
// prepared transaction's ID; it returns ErrInvalidID for another.
func NewPostgres(name string, pool *pgxpool.Pool) (*Postgres, error) {
	if !validName.MatchString(name) || pool == nil {
		return nil, fmt.Errorf("%w: participant name %q (or a nil pool)", ErrInvalidID, name)
	}
	return &Postgres{name: name, pool: pool}, nil
}

// gid is the prepared transaction's ID, as an SQL string literal (IDs
// are checked against validID, and names below, so there is nothing to
// escape but quotes, which they cannot contain).
func (p *Postgres) gid(txid string) string { return "'" + txid + "." + p.name + "'" }

// lockKey is the key of the transaction-level advisory lock that guards
// the part with this gid, from the moment its database transaction
// begins until it is rolled back, or prepared and then finished (a
// prepared transaction keeps its transaction-level advisory locks until
// COMMIT PREPARED or ROLLBACK PREPARED). It is the 64-bit FNV-1a hash of
// a prefix and the gid: two gids share a key with probability about
// 2^-64 per pair, and a shared key (with another part, or with an
// application's own advisory lock on the same bigint) costs only time,
// never correctness: Prepare waits for the other holder, and Abort
// reports errPreparing and is retried until the other holder lets go.
func (p *Postgres) lockKey(txid string) int64 {
	h := fnv.New64a()
	h.Write([]byte("otlpgo.twopc:" + txid + "." + p.name))
	return int64(h.Sum64())
}

// errPreparing is returned by Abort for a part with no prepared
// transaction (yet) whose PREPARE may still be running: the coordinator
// retries the abort within its retry budget.
var errPreparing = errors.New("twopc: the part is not prepared, but its transaction is still running (PREPARE in flight): abort again later")

// Commit commits the prepared part; a part that is no longer prepared was
// committed before. Unlike Abort, Commit need not ask whether a PREPARE
// is still running: it is only called once every part's Prepare
// returned success, that is once its PREPARE TRANSACTION completed, so
// a gid that is not prepared has been committed.
func (p *Postgres) Commit(ctx context.Context, txid string) error {
	if err := p.check(txid); err != nil {
		return err
	}
	_, err := p.pool.Exec(ctx, "COMMIT PREPARED "+p.gid(txid))
	if isUndefinedObject(err) {
		return nil
	}
	return err
}

// Abort rolls the prepared part back. A part that is not prepared was
// rolled back before or never prepared, and is already aborted, unless
// its PREPARE TRANSACTION is still running on the server: then Abort
// returns an error, and the coordinator tries again.
//
// That case is real: a coordinator that dies (or whose prepare timeout
// ends) while one participant's PREPARE is being executed leaves that
// statement running. Its connection closes, but the server only notices
// when it next talks to the client, after the PREPARE has completed, so
// the part ends up prepared; only a transaction that has not reached
// PREPARE is rolled back when its client goes away (or, with
// client_connection_check_interval set, one whose PREPARE is stopped
// before it completes). If Abort took "no
// such prepared transaction" for success there, the coordinator (or
// Recover, presuming abort) would forget the transaction, and the
// prepared part would then hold its locks for ever. So Prepare takes a
// transaction-level advisory lock on the part's key (lockKey) before its
// work, and holds it while the PREPARE runs and, once prepared, until
// the part is finished; Abort reports a missing part as aborted only if
// it can take that lock itself (and it lets go at once). If it cannot,
// the part is being prepared (or is prepared, just now), and the next
// attempt finds it prepared and rolls it back, or finds its transaction
// gone. A PREPARE is sent only once the lock is held, by a Prepare call
// that has not returned; the coordinator aborts once every Prepare
// returned, or after it died, so no PREPARE can follow an Abort that
// took the lock.
func (p *Postgres) Abort(ctx context.Context, txid string) error {
	if err := p.check(txid); err != nil {
		if p.pool == nil {
			return err
		}
		return nil // no part with this ID could have been prepared: nothing to abort
	}
	_, err := p.pool.Exec(ctx, "ROLLBACK PREPARED "+p.gid(txid))
	if !isUndefinedObject(err) {
		return err
	}
	var free bool
	if err := p.pool.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", p.lockKey(txid)).Scan(&free); err != nil {
		return err
	}
	if !free {
		return fmt.Errorf("%w: %s", errPreparing, p.gid(txid))
	}
	return nil
}

// check refuses an ID that would not make a safe gid (PostgreSQL's are
// under 200 bytes), and the zero Postgres.
func (p *Postgres) check(txid string) error {
	if p.pool == nil || !validID.MatchString(txid) {
		return fmt.Errorf("%w: %q with participant %q", ErrInvalidID, txid, p.name)
	}
	return nil
}

func isUndefinedObject(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == undefinedObject
}

// Participant returns this database's part of one transaction: work runs
// in a database transaction, which is then prepared. If work fails, the
// transaction is rolled back and nothing is prepared. Before work, the
// transaction takes a transaction-level advisory lock keyed on the
// prepared transaction's ID (one bigint key, kept until the part is
// finished; see Abort for why).
func (p *Postgres) Participant(work func(ctx context.Context, tx pgx.Tx) error) Participant {
	return &pgParticipant{p, work}
}

type pgParticipant struct {
	db   *Postgres
	work func(ctx context.Context, tx pgx.Tx) error
}

func (pp *pgParticipant) Name() string { return pp.db.name }

func (pp *pgParticipant) Prepare(ctx context.Context, txid string) error {
	if err := pp.db.check(txid); err != nil {
		return err
	}
	tx, err := pp.db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // after PREPARE, a no-op
	// Held until the transaction rolls back, or is prepared and then
	// finished: Abort reads it to tell a part that was never prepared from
	// one whose PREPARE is still running. It waits (within ctx) for an
	// earlier attempt at the same part, or for a part whose gid shares the
	// key, to finish.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pp.db.lockKey(txid)); err != nil {
		return err
	}
	if err := pp.work(ctx, tx); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, "PREPARE TRANSACTION "+pp.db.gid(txid))
	if err == nil && tag.String() != "PREPARE TRANSACTION" {
		// The transaction had already failed (work swallowed an error), so
		// PostgreSQL rolled it back instead of preparing it.
		err = fmt.Errorf("twopc: %s: the transaction failed before PREPARE (server answered %q)", pp.db.name, tag.String())
	}
	return err
}

// BarrierTable is the DDL of the table Barrier writes to; create it once
// in each participant database.
const BarrierTable = `CREATE TABLE IF NOT EXISTS otlpgo_barrier (
	txid text NOT NULL,
	op   text NOT NULL,
	PRIMARY KEY (txid, op)
)`

// Barrier makes a participant's handler idempotent: called in the same
// database transaction as the handler's work, it records (txid, op) and
// reports whether this is the first time. A repeated call (a retried
// Prepare after a lost reply, a redelivered message) finds the row and
// returns false, and the handler skips its work; the row commits or rolls
// back with the work, so a rolled-back attempt leaves no mark.
func Barrier(ctx context.Context, tx pgx.Tx, txid, op string) (first bool, err error) {
	tag, err := tx.Exec(ctx, `INSERT INTO otlpgo_barrier (txid, op) VALUES ($1, $2) ON CONFLICT DO NOTHING`, txid, op)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
