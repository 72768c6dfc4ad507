package twopc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/txlog"
	"github.com/otlpgo/otlpgo/panics"
)

// Log is the durable log the coordinator writes its decisions to: see
// NewMemoryLog and OpenBoltLog.
type Log = txlog.Log

// NewMemoryLog returns a log in memory, for tests: a crash loses it.
func NewMemoryLog() Log { return txlog.NewMemory() }

// OpenBoltLog opens (creating if needed) a log in a bbolt file, the
// default for a single coordinator process.
func OpenBoltLog(path string) (Log, error) { return txlog.OpenBolt(path) }

// NewPostgresLog returns a log in a PostgreSQL table (created if missing)
// that several coordinator processes share: each names itself owner, and
// holds each transaction it writes on a lease that every write renews;
// Recover takes over transactions whose lease expired (their coordinator
// died), so two coordinators never drive one at once. Make the lease
// longer than any step takes.
func NewPostgresLog(ctx context.Context, pool *pgxpool.Pool, table, owner string, lease time.Duration) (Log, error) {
	return txlog.NewPostgres(ctx, pool, table, owner, lease)
}

var (
	// ErrInvalidID is returned for a transaction ID that is empty, longer
	// than 150 bytes, or has characters other than letters, digits and
	// "._:-" (it names prepared transactions in PostgreSQL).
	ErrInvalidID = errors.New("twopc: invalid transaction ID")
	// ErrUnknownParticipant is returned for a participant whose name has
	// no Resource in the coordinator (recovery could not finish it).
	ErrUnknownParticipant = errors.New("twopc: participant has no resource")
	// ErrDuplicateID is returned by Run for an ID an unfinished
	// transaction has.
	ErrDuplicateID = errors.New("twopc: a transaction with this ID is unfinished")
)

var validID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,150}$`) // with "." and a 40-byte name, a gid stays under 200 bytes

// Resource finishes a participant's part of a transaction knowing only
// the transaction's ID, as the second phase and recovery need. Both
// methods are called again after a crash or a lost reply, so each must
// succeed when its work is already done: Commit when the part is already
// committed, Abort when it is already rolled back or was never prepared
// (presumed abort).
type Resource interface {
	Commit(ctx context.Context, txid string) error
	Abort(ctx context.Context, txid string) error
}

// Participant is one resource manager's part of a transaction. Prepare
// does the work and makes it durable and ready to commit (PostgreSQL's
// PREPARE TRANSACTION), or fails holding nothing.
type Participant interface {
	Name() string
	Prepare(ctx context.Context, txid string) error
}

// Outcome is how a transaction ended.
type Outcome uint8

const (
	// Committed: every participant prepared, and every one committed.
	Committed Outcome = iota + 1
	// Aborted: a participant could not prepare (or the coordinator
	// crashed before deciding), and every one was rolled back.
	Aborted
)

// String returns "committed" or "aborted".
func (o Outcome) String() string {
	switch o {
	case Committed:
		return "committed"
	case Aborted:
		return "aborted"
	}
	return "invalid outcome"
}

type record struct {
	// Phase is "p" (preparing: no decision yet, so abort) or "c"
	// (committing: the decision is commit).
	Phase string   `json:"p"`
	Parts []string `json:"n"`
}

// Coordinator drives transactions through prepare and commit or abort,
// logging the decision durably before phase two (presumed abort: a
// transaction with no logged decision aborts). It is safe for concurrent
// use; two coordinators must not share a bbolt log. Recover skips the
// transactions this coordinator is running. The zero Coordinator has no
// log: Run and Recover return ErrNoLog; use New.
type Coordinator struct {
	log       Log
	resources map[string]Resource
	cfg       config
	inst      *instrumentation
	inflight  sync.Map // transaction IDs being driven here
}

// ErrNoLog is returned by the zero Coordinator's methods.
var ErrNoLog = errors.New("twopc: coordinator without a log (use New)")

// New returns a coordinator writing to log; resources names, for every
// participant name it will meet, the Resource that commits or aborts that
// participant's part by transaction ID.
func New(log Log, resources map[string]Resource, opts ...Option) (*Coordinator, error) {
	c := &Coordinator{log: log, resources: resources, cfg: newConfig(opts)}
	inst, err := newInstrumentation(&c.cfg)
	if err != nil {
		return nil, err
	}
	c.inst = inst
	return c, nil
}

// Run runs transaction txid over the participants: it logs the
// transaction, prepares every participant (each within the prepare
// timeout), and if all prepared logs the commit decision and commits
// every participant, retrying each until it acknowledges; otherwise it
// aborts every participant. It returns Committed, or Aborted with the
// prepare error. An error writing the log, or ctx ending during phase
// two, leaves the transaction for Recover and returns outcome 0.
func (c *Coordinator) Run(ctx context.Context, txid string, parts ...Participant) (Outcome, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	if !validID.MatchString(txid) {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, txid)
	}
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.Name()
		if c.resources[names[i]] == nil {
			return 0, fmt.Errorf("%w: %q", ErrUnknownParticipant, names[i])
		}
	}
	ctx, span := c.inst.tracer.Start(ctx, "twopc "+txid, trace.WithAttributes(
		attribute.String("twopc.id", txid), attribute.StringSlice("twopc.participants", names)))
	defer span.End()
	b, _ := json.Marshal(record{Phase: "p", Parts: names})
	if err := c.log.Create(ctx, txid, b); err != nil {
		if errors.Is(err, txlog.ErrExists) {
			err = fmt.Errorf("%w: %s", ErrDuplicateID, txid)
		}
		errs.Record(span, err)
		return 0, err
	}
	c.inflight.Store(txid, true)
	defer c.inflight.Delete(txid)
	c.inst.started.Add(ctx, 1)
	if err := c.prepare(ctx, txid, parts); err != nil {
		out, ferr := c.finish(ctx, txid, "p", names)
		if ferr != nil {
			errs.Record(span, ferr)
			return 0, ferr
		}
		errs.Record(span, err)
		return out, err
	}
	b, _ = json.Marshal(record{Phase: "c", Parts: names})
	if err := c.log.Save(ctx, txid, b); err != nil { // the decision, durable before phase two
		errs.Record(span, err)
		return 0, err
	}
	out, err := c.finish(ctx, txid, "c", names)
	errs.Record(span, err)
	return out, err
}

// prepare prepares every participant at once, each within the timeout,
// and returns the first failure.
func (c *Coordinator) prepare(ctx context.Context, txid string, parts []Participant) error {
	var wg sync.WaitGroup
	var errsOut errs.Collector
	for _, p := range parts {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, c.cfg.prepareTimeout)
			defer cancel()
			pctx, span := c.inst.tracer.Start(pctx, "prepare "+p.Name())
			defer span.End()
			err := protect(func() error { return p.Prepare(pctx, txid) })
			if err != nil {
				err = fmt.Errorf("prepare %s: %w", p.Name(), err)
				errsOut.Add(err)
			}
			errs.Record(span, err)
		})
	}
	wg.Wait()
	return errsOut.Err()
}

// finish drives phase two to the logged decision ("c" commit, "p" abort),
// retrying each participant until it acknowledges or ctx ends, then
// forgets the transaction.
func (c *Coordinator) finish(ctx context.Context, txid, phase string, names []string) (Outcome, error) {
	out, verb := Aborted, "abort"
	if phase == "c" {
		out, verb = Committed, "commit"
	}
	var wg sync.WaitGroup
	var failed errs.Collector
	for _, name := range names {
		r := c.resources[name]
		if r == nil {
			failed.Add(fmt.Errorf("%w: %q", ErrUnknownParticipant, name))
			continue
		}
		wg.Go(func() {
			sctx, span := c.inst.tracer.Start(ctx, verb+" "+name)
			defer span.End()
			_, err := errs.Retry(sctx, func(ctx context.Context) (struct{}, error) {
				if verb == "commit" {
					return struct{}{}, protect(func() error { return r.Commit(ctx, txid) })
				}
				return struct{}{}, protect(func() error { return r.Abort(ctx, txid) })
			}, errs.WithMaxAttempts(1<<30), errs.WithBackoff(c.cfg.backoff, c.cfg.maxBackoff))
			if err != nil {
				failed.Add(fmt.Errorf("%s %s: %w", verb, name, err))
			}
			errs.Record(span, err)
		})
	}
	wg.Wait()
	if err := failed.Err(); err != nil {
		return 0, err // ctx ended: the log keeps the decision for Recover
	}
	if err := c.log.Delete(ctx, txid); err != nil {
		return 0, err
	}
	if out == Committed {
		c.inst.committed.Add(ctx, 1)
	} else {
		c.inst.aborted.Add(ctx, 1)
	}
	return out, nil
}

// Recover drives every in-doubt transaction in the log to its logged
// decision: commit for those that logged it, abort (presumed) for the
// rest. It returns how many it finished, and the errors of the others.
func (c *Coordinator) Recover(ctx context.Context) (int, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	recs, err := c.log.Claim(ctx)
	if err != nil {
		return 0, err
	}
	var errsOut errs.Collector
	n := 0
	for _, r := range recs {
		if _, running := c.inflight.LoadOrStore(r.ID, true); running {
			continue // Run is driving it
		}
		var rec record
		if err := json.Unmarshal(r.State, &rec); err != nil {
			c.inflight.Delete(r.ID)
			errsOut.Add(fmt.Errorf("twopc %s: unreadable record: %w", r.ID, err))
			continue
		}
		_, err := c.finish(ctx, r.ID, rec.Phase, rec.Parts)
		c.inflight.Delete(r.ID)
		if err != nil {
			errsOut.Add(fmt.Errorf("twopc %s: %w", r.ID, err))
			continue
		}
		n++
	}
	return n, errsOut.Err()
}

// protect calls f, turning a panic into a *panics.Error.
func protect(f func() error) error { return panics.Try(f) }
