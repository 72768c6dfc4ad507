package twopc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
	// ErrDuplicateParticipant is returned by Run, before anything is
	// logged, when two participants have the same name: each name is one
	// Resource, which would be prepared and committed twice at once.
	ErrDuplicateParticipant = errors.New("twopc: two participants have the same name")
	// ErrNoParticipants is returned by Run, before anything is logged,
	// when it is given no participant: a transaction over nothing is
	// almost certainly a caller's bug, not a commit to report.
	ErrNoParticipants = errors.New("twopc: no participants")
	// ErrInvalidOption is returned by New for an option given a negative
	// duration or count (WithPrepareTimeout, WithBackoff,
	// WithRetryBudget); zero keeps the default.
	ErrInvalidOption = errors.New("twopc: invalid option")
)

var validID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,150}$`) // with "." and a 40-byte name, a gid stays under 200 bytes

// Resource finishes a participant's part of a transaction knowing only
// the transaction's ID, as the second phase and recovery need. Both
// methods are called again after a crash or a lost reply, so each must
// succeed when its work is already done: Commit when the part is already
// committed, Abort when it is already rolled back or was never prepared
// (presumed abort). Each call must return once its ctx ends: phase two
// bounds a participant's calls by ending their context (WithRetryBudget),
// and a call that ignores it holds Run or Recover up. A panic in either
// is recovered and counted as a failed call; a runtime.Goexit in either
// is detected and leaves the participant unacknowledged (the
// transaction in doubt, for Recover).
type Resource interface {
	Commit(ctx context.Context, txid string) error
	Abort(ctx context.Context, txid string) error
}

// Participant is one resource manager's part of a transaction. Prepare
// does the work and makes it durable and ready to commit (PostgreSQL's
// PREPARE TRANSACTION), or fails holding nothing. Prepare must return
// once its ctx ends (the prepare timeout ends it); a Prepare that
// returns nil after its ctx ended (it outlasted the timeout) has failed
// all the same, and the transaction aborts. A panic or a
// runtime.Goexit in Prepare is recovered (detected) and fails the
// transaction. Name is called on Run's goroutine, under panics.
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
// participant's part by transaction ID. New copies the map: changing it
// afterwards does not change the coordinator. It returns
// ErrInvalidOption for an option given a negative value, and the error
// of creating its metrics; a TracerProvider or MeterProvider that panics
// there is that error, a *panics.Error.
func New(log Log, resources map[string]Resource, opts ...Option) (*Coordinator, error) {
	cfg := newConfig(opts)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{log: log, resources: maps.Clone(resources), cfg: cfg}
	var inst *instrumentation
	if err := protect(func() (err error) { inst, err = newInstrumentation(&c.cfg); return err }); err != nil {
		return nil, fmt.Errorf("twopc: instrumentation: %w", err)
	}
	c.inst = inst
	return c, nil
}

// ErrInDoubt is matched (errors.Is) by every *InDoubtError: a
// transaction whose decision is logged but not yet carried out on every
// participant, left in the log for a later Recover.
var ErrInDoubt = errors.New("twopc: transaction in doubt")

// InDoubtError is returned by Run and Recover for a transaction whose
// phase two did not finish: a participant did not acknowledge its commit
// or abort within the retry budget (WithRetryBudget), or has no
// Resource, or ctx ended. The transaction stays in the log with its
// decision, and a later Recover drives it again. errors.Is(err,
// ErrInDoubt) matches it, and errors.Is and errors.As reach each
// participant's error (a *errs.RetryError holding every attempt's error,
// a *panics.Error if the Resource panicked) through it.
type InDoubtError struct {
	// ID is the transaction's.
	ID string
	// Decision is what the log holds: Committed, or Aborted (no decision
	// logged, so presumed abort).
	Decision Outcome
	// Err holds the error of each participant that did not acknowledge,
	// joined.
	Err error
}

// Error names the transaction, its decision and why it is unfinished.
func (e *InDoubtError) Error() string {
	return fmt.Sprintf("twopc: transaction %s in doubt (decision %s, not acknowledged by every participant): %v", e.ID, e.Decision, e.Err)
}

// Unwrap returns the participants' errors.
func (e *InDoubtError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInDoubt.
func (e *InDoubtError) Is(target error) bool { return target == ErrInDoubt }

// Run runs transaction txid over the participants: it logs the
// transaction, prepares every participant (each within the prepare
// timeout), and if all prepared logs the commit decision and commits
// every participant, retrying each within the retry budget
// (WithRetryBudget); otherwise it aborts every participant, as retried.
// It returns Committed, or Aborted with the prepare error. A participant
// that does not acknowledge within its budget, or ctx ending during
// phase two, leaves the transaction in the log for Recover: Run returns
// outcome 0 and an *InDoubtError (joined with the prepare error, if
// any). An error writing the log also leaves it for Recover and returns
// outcome 0. A panic in a participant's method or in the log is returned
// as a *panics.Error (in a commit or abort: within the *InDoubtError); a
// runtime.Goexit in a Prepare fails that prepare (the transaction
// aborts), and one in a Commit or Abort leaves that participant
// unacknowledged (in doubt), both with an error matching
// panics.ErrGoexit.
//
// Before it logs anything, Run returns ErrInvalidID, ErrNoParticipants,
// ErrDuplicateParticipant or ErrUnknownParticipant for bad arguments,
// ctx's error if ctx has already ended, and a *panics.Error if the
// TracerProvider panics starting the transaction's span. The
// telemetry after that (ending spans, counting outcomes) runs under
// panics and a panic in it is dropped: it cannot change an outcome
// already decided.
func (c *Coordinator) Run(ctx context.Context, txid string, parts ...Participant) (Outcome, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	if !validID.MatchString(txid) {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, txid)
	}
	if len(parts) == 0 {
		return 0, ErrNoParticipants
	}
	names := make([]string, len(parts))
	seen := make(map[string]bool, len(parts))
	for i, p := range parts {
		if err := protect(func() error { names[i] = p.Name(); return nil }); err != nil {
			return 0, fmt.Errorf("twopc: participant %d's Name: %w", i, err)
		}
		if seen[names[i]] {
			return 0, fmt.Errorf("%w: %q", ErrDuplicateParticipant, names[i])
		}
		seen[names[i]] = true
		if c.resources[names[i]] == nil {
			return 0, fmt.Errorf("%w: %q", ErrUnknownParticipant, names[i])
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var span trace.Span
	if err := protect(func() error {
		ctx, span = c.inst.tracer.Start(ctx, "twopc "+txid, trace.WithAttributes(
			attribute.String("twopc.id", txid), attribute.StringSlice("twopc.participants", names)))
		return nil
	}); err != nil {
		return 0, fmt.Errorf("twopc: starting the span: %w", err)
	}
	defer quietly(func() { span.End() })
	// Marked as driven here before the record exists, so that a Recover
	// that finds the record leaves it to this Run.
	if _, running := c.inflight.LoadOrStore(txid, true); running {
		err := fmt.Errorf("%w: %s", ErrDuplicateID, txid)
		recordErr(span, err)
		return 0, err
	}
	defer c.inflight.Delete(txid)
	b, _ := json.Marshal(record{Phase: "p", Parts: names})
	if err := protect(func() error { return c.log.Create(ctx, txid, b) }); err != nil {
		if errors.Is(err, txlog.ErrExists) {
			err = fmt.Errorf("%w: %s", ErrDuplicateID, txid)
		}
		recordErr(span, err)
		return 0, err
	}
	quietly(func() { c.inst.started.Add(ctx, 1) })
	if err := c.prepare(ctx, txid, parts, names); err != nil {
		out, ferr := c.finish(ctx, txid, "p", names)
		if ferr != nil {
			err = errors.Join(err, ferr)
			recordErr(span, err)
			return 0, err
		}
		recordErr(span, err)
		return out, err
	}
	b, _ = json.Marshal(record{Phase: "c", Parts: names})
	// The decision, durable before phase two.
	if err := protect(func() error { return c.log.Save(ctx, txid, b) }); err != nil {
		recordErr(span, err)
		return 0, err
	}
	out, err := c.finish(ctx, txid, "c", names)
	recordErr(span, err)
	return out, err
}

// prepare prepares every participant at once, each within the timeout,
// and returns the first failure. Each goroutine runs under panics.Guard:
// a panicking Prepare is that participant's error, and so is one that
// calls runtime.Goexit (panics.ErrGoexit) or returns after its context
// ended.
func (c *Coordinator) prepare(ctx context.Context, txid string, parts []Participant, names []string) error {
	var wg sync.WaitGroup
	var errsOut errs.Collector
	for i, p := range parts {
		wg.Go(func() {
			panics.Guard(func() error {
				pctx, cancel := context.WithTimeout(ctx, c.cfg.prepareTimeout)
				defer cancel()
				pctx, span := c.inst.tracer.Start(pctx, "prepare "+names[i])
				defer span.End()
				err := protect(func() error { return p.Prepare(pctx, txid) })
				if err == nil && pctx.Err() != nil {
					// It outlasted its timeout (or Run's ctx): whatever it
					// did, the coordinator stopped waiting for it.
					err = fmt.Errorf("twopc: Prepare returned after its context ended: %w", context.Cause(pctx))
				}
				errs.Record(span, err)
				return err
			}, func(err error) {
				if err != nil {
					errsOut.Add(fmt.Errorf("prepare %s: %w", names[i], err))
				}
			})
		})
	}
	wg.Wait()
	return errsOut.Err()
}

// finish drives phase two to the logged decision ("c" commit, "p" abort),
// retrying each participant within the retry budget, then forgets the
// transaction. If a participant did not acknowledge, it returns an
// *InDoubtError and the log keeps the decision.
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
			// Under Guard: a Resource that calls runtime.Goexit has not
			// acknowledged, so the transaction stays in doubt.
			panics.Guard(func() error { return c.finishOne(ctx, txid, verb, name, r) }, func(err error) {
				if err != nil {
					failed.Add(fmt.Errorf("%s %s: %w", verb, name, err))
				}
			})
		})
	}
	wg.Wait()
	if err := failed.Err(); err != nil {
		return 0, &InDoubtError{ID: txid, Decision: out, Err: err}
	}
	if err := protect(func() error { return c.log.Delete(ctx, txid) }); err != nil {
		return 0, err
	}
	quietly(func() {
		if out == Committed {
			c.inst.committed.Add(ctx, 1)
		} else {
			c.inst.aborted.Add(ctx, 1)
		}
	})
	return out, nil
}

// finishOne commits or aborts one participant's part, retrying within
// the budget: at most cfg.attempts calls, all within cfg.elapsed (the
// calls' context ends then, so that one that hangs is bounded too).
func (c *Coordinator) finishOne(ctx context.Context, txid, verb, name string, r Resource) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.elapsed)
	defer cancel()
	ctx, span := c.inst.tracer.Start(ctx, verb+" "+name)
	defer span.End()
	_, err := errs.Retry(ctx, func(ctx context.Context) (struct{}, error) {
		if verb == "commit" {
			return struct{}{}, protect(func() error { return r.Commit(ctx, txid) })
		}
		return struct{}{}, protect(func() error { return r.Abort(ctx, txid) })
	}, errs.WithMaxAttempts(c.cfg.attempts), errs.WithMaxElapsed(c.cfg.elapsed), errs.WithBackoff(c.cfg.backoff, c.cfg.maxBackoff))
	errs.Record(span, err)
	return err
}

// Recover drives every in-doubt transaction in the log to its logged
// decision: commit for those that logged it, abort (presumed) for the
// rest. It returns how many it finished, and the errors of the others:
// an *InDoubtError for each transaction a participant did not finish
// within the retry budget (WithRetryBudget), which stays in the log for
// a later Recover, while Recover goes on with the next. Each transaction
// costs at most the budget, so Recover returns even with a participant
// that refuses a transaction for ever and a ctx with no deadline.
func (c *Coordinator) Recover(ctx context.Context) (int, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	recs, err := c.claim(ctx)
	if err != nil {
		return 0, err
	}
	// Take the transactions no Run of this coordinator is driving, then
	// read their records again: a Run may have moved one on (logged its
	// decision, or finished it) between the first read and the taking,
	// and driving a stale record could abort a transaction that logged
	// commit. Once taken, only this Recover writes them.
	taken := map[string]bool{}
	for _, r := range recs {
		if _, running := c.inflight.LoadOrStore(r.ID, true); !running {
			taken[r.ID] = true
		}
	}
	defer func() {
		for id := range taken {
			c.inflight.Delete(id)
		}
	}()
	if len(taken) == 0 {
		return 0, nil
	}
	if recs, err = c.claim(ctx); err != nil {
		return 0, err
	}
	var errsOut errs.Collector
	n := 0
	for _, r := range recs {
		if !taken[r.ID] {
			continue // a Run is driving it, or it appeared since the first read
		}
		var rec record
		if err := json.Unmarshal(r.State, &rec); err != nil {
			errsOut.Add(fmt.Errorf("twopc %s: unreadable record: %w", r.ID, err))
			continue
		}
		_, err := c.finish(ctx, r.ID, rec.Phase, rec.Parts)
		if err != nil {
			var ide *InDoubtError
			if !errors.As(err, &ide) {
				err = fmt.Errorf("twopc %s: %w", r.ID, err)
			}
			errsOut.Add(err)
			continue
		}
		n++
	}
	return n, errsOut.Err()
}

// claim reads the log's unfinished transactions.
func (c *Coordinator) claim(ctx context.Context) (recs []txlog.Record, err error) {
	err = protect(func() error {
		recs, err = c.log.Claim(ctx)
		return err
	})
	return recs, err
}

// protect calls f, turning a panic into a *panics.Error.
func protect(f func() error) error { return panics.Try(f) }
