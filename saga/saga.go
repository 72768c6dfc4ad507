package saga

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/internal/txlog"
	"github.com/otlpgo/otlpgo/panics"
)

// Log is the durable log a Coordinator writes every transition to: see
// NewMemoryLog and OpenBoltLog.
type Log = txlog.Log

// NewMemoryLog returns a log in memory, for tests: a crash loses it.
func NewMemoryLog() Log { return txlog.NewMemory() }

// OpenBoltLog opens (creating if needed) a log in a bbolt file, the
// default for a single coordinator process. Concurrent sagas' writes
// share one synced commit. A file written by the first release is
// refused with an error wrapping ErrLegacyLog and left as it is (see
// ConvertBoltLog); one in a newer release's format, with
// ErrUnsupportedVersion. A symbolic link at path whose target does not exist is
// an error wrapping fs.ErrNotExist: no log is created in its place.
func OpenBoltLog(path string) (Log, error) {
	l, err := txlog.OpenBolt(path)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ConvertBoltLog converts a bbolt log file written by the first release
// to the current format, which OpenBoltLog reads, in one transaction.
// The first release then reads the file as an empty log: convert only
// once it is gone for good, or once it has finished its sagas. A file in
// the current format is left as it is; a missing file is an error
// wrapping fs.ErrNotExist, a damaged one ErrCorrupt.
func ConvertBoltLog(path string) error { return txlog.ConvertBolt(path) }

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
	// ErrUnknownSaga is returned by Run for a definition name the
	// coordinator was not given.
	ErrUnknownSaga = errors.New("saga: unknown saga definition")
	// ErrDuplicateID is returned by Run for an ID an unfinished saga has.
	ErrDuplicateID = errors.New("saga: a saga with this ID is unfinished")
	// ErrEmptyID is returned by Run for an empty saga ID, whatever the log.
	ErrEmptyID = errors.New("saga: empty saga ID")
	// ErrInvalidDefinition is returned by New for a definition without a
	// name or steps, a step without a name or action, a repeated step
	// name, a name, step name or Version that is not valid UTF-8, a
	// negative Attempts, or a definition listed twice (the same name,
	// steps and Version).
	ErrInvalidDefinition = errors.New("saga: invalid definition")
)

// Step is one step of a saga: an action and the compensation that undoes
// it. Both receive an idempotency key, the same every time the step is
// tried (after a crash too), and the saga's input: a step may run more
// than once, and must do no harm when it does (use the key, for example
// with a unique constraint); its form is in the package doc, and differs
// between a step's action and its compensation, between steps, sagas and
// definitions. An action's error is retried (up to
// Attempts, with backoff) unless it is errs.Permanent; a permanent
// failure compensates the steps done before it. A compensation is retried
// (up to the coordinator's bound) until it succeeds, whatever it returns
// (an errs.Permanent error too, at any depth); past the bound the
// saga is Stuck and needs attention.
type Step struct {
	Name       string
	Action     func(ctx context.Context, key string, input []byte) error
	Compensate func(ctx context.Context, key string, input []byte) error // nil: nothing to undo
	// Timeout bounds each attempt of the action or compensation (default
	// none but the context).
	Timeout time.Duration
	// Attempts is how many times the action is tried before it fails
	// permanently (0: the default, 3; negative: New returns
	// ErrInvalidDefinition).
	Attempts int
}

// Definition is a named, ordered list of steps. Each saga's records in
// the log name the version of the definition that wrote them: its
// Version and a fingerprint of its step names, computed by New, so that
// Recover finishes a saga only with the steps it was started with. A
// definition whose steps changed (added, removed, renamed, reordered) is
// a new version by itself; set Version when steps keep their names but
// change their meaning.
type Definition struct {
	Name  string
	Steps []Step
	// Version is an optional label of the definition's version, written
	// in its sagas' records; change it when steps keep their names but not
	// their meaning.
	Version string
}

// Outcome is how a saga ended.
type Outcome uint8

const (
	// Completed: every step's action succeeded.
	Completed Outcome = iota + 1
	// Compensated: a step failed permanently, and every step done before
	// it was compensated.
	Compensated
	// Stuck: a compensation kept failing past the bound; the saga stays in
	// the log, needing attention, and Recover leaves it alone.
	Stuck
)

// String returns "completed", "compensated" or "stuck".
func (o Outcome) String() string {
	switch o {
	case Completed:
		return "completed"
	case Compensated:
		return "compensated"
	case Stuck:
		return "stuck"
	}
	return "invalid outcome"
}

// StepError is Run's error when a step failed: the saga and the step, what
// became of the saga (Compensated, or Stuck when a compensation kept
// failing: then Step names that compensation), and the cause.
type StepError struct {
	Saga, ID, Step string
	Outcome        Outcome
	Err            error
}

// Error says which step failed, how the saga ended, and why.
func (e *StepError) Error() string {
	return fmt.Sprintf("saga %s %s: step %s failed, %s: %v", e.Saga, e.ID, e.Step, e.Outcome, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// Coordinator runs sagas, writing every transition to its log before
// acting on it, and finishes or compensates those a crash left unfinished
// (Recover). It is safe for concurrent use by multiple goroutines; two
// coordinators must not share a bbolt log. Recover skips the sagas this
// coordinator is running, and those it ran since Recover read the log
// (the next Recover finds them as they are). A Coordinator must not be
// copied after first use. The zero Coordinator has no log: Run and
// Recover return ErrNoLog; use New.
type Coordinator struct {
	log      Log
	defs     map[string]*defVersion // by name: the one Run starts
	versions map[defKey]*defVersion // every definition, by name and version
	cfg      config
	inst     *instrumentation
	inflight sync.Map // saga IDs being driven here: Recover skips them
	// passes are the Recover calls under way, each with the sagas driven
	// here since it read the log: its record of them may be stale.
	passes struct {
		sync.Mutex
		active map[*recoverPass]struct{} // guarded by the mutex
	}
}

// defVersion is a definition as the coordinator holds it: a copy, and its
// key in the records.
type defVersion struct {
	def Definition
	key defKey
}

// ErrNoLog is returned by the zero Coordinator's methods.
var ErrNoLog = errors.New("saga: coordinator without a log (use New)")

// New returns a coordinator for the definitions, writing to log. A name
// may be listed more than once, with other steps or another Version: Run
// starts sagas on the last one listed under a name, and Recover finishes
// each saga with the version that wrote it, so that listing the previous
// version for a while lets the sagas it left unfinished end. The
// definitions are copied.
func New(log Log, defs []Definition, opts ...Option) (*Coordinator, error) {
	c := &Coordinator{log: log, defs: map[string]*defVersion{}, versions: map[defKey]*defVersion{}, cfg: newConfig(opts)}
	for _, d := range defs {
		if d.Name == "" || len(d.Steps) == 0 {
			return nil, fmt.Errorf("%w: %q (empty or without steps)", ErrInvalidDefinition, d.Name)
		}
		if !utf8.ValidString(d.Name) || !utf8.ValidString(d.Version) {
			return nil, fmt.Errorf("%w: %q version %q (not UTF-8)", ErrInvalidDefinition, d.Name, d.Version)
		}
		seen := map[string]bool{}
		for _, s := range d.Steps {
			if s.Name == "" || s.Action == nil || seen[s.Name] || !utf8.ValidString(s.Name) || s.Attempts < 0 {
				return nil, fmt.Errorf("%w: saga %q: step %q (unnamed, not UTF-8, without an action, repeated, or negative Attempts)", ErrInvalidDefinition, d.Name, s.Name)
			}
			seen[s.Name] = true
		}
		d.Steps = slices.Clone(d.Steps)
		v := &defVersion{def: d, key: defKey{d.Name, d.Version, fingerprint(&d)}}
		if c.versions[v.key] != nil {
			return nil, fmt.Errorf("%w: %q version %q (repeated: the same steps and Version)", ErrInvalidDefinition, d.Name, d.Version)
		}
		c.versions[v.key] = v
		c.defs[d.Name] = v
	}
	inst, err := newInstrumentation(&c.cfg)
	if err != nil {
		return nil, err
	}
	c.inst = inst
	return c, nil
}

// Run starts the saga named def with the given ID and input, and drives
// it to its end: Completed (nil error), Compensated or Stuck (with a
// *StepError naming the step and the cause). The ID must be unique
// among unfinished sagas (ErrDuplicateID) and not empty (ErrEmptyID); use
// it to find the saga again.
// An error writing the log, or ctx ending, stops the saga where it is, to
// be finished by Recover; Run then returns that error and outcome 0. A
// Log method that panics is such an error too: a *panics.Error.
// A step that panics fails permanently with the panic as a *panics.Error.
// A step that calls runtime.Goexit (t.FailNow in a test) ends the
// goroutine that called Run, which does not return: the saga stays in the
// log where it was, and Recover (of this coordinator too) finishes it.
func (c *Coordinator) Run(ctx context.Context, def, id string, input []byte) (Outcome, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	v := c.defs[def]
	if v == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownSaga, def)
	}
	if id == "" {
		return 0, ErrEmptyID
	}
	// Marked in flight before the record exists, so that a concurrent
	// Recover that reads the new record does not drive it too.
	if _, running := c.inflight.LoadOrStore(id, true); running {
		return 0, fmt.Errorf("%w: %s", ErrDuplicateID, id)
	}
	defer c.release(id)
	st := state{Def: def, Version: v.key.version, Steps: v.key.steps, Input: input, Phase: "f"}
	if err := panics.Try(func() error { return c.log.Create(ctx, id, st.encode()) }); err != nil {
		if errors.Is(err, txlog.ErrExists) {
			return 0, fmt.Errorf("%w: %s", ErrDuplicateID, id)
		}
		return 0, err
	}
	c.inst.started.Add(ctx, 1, c.inst.defOpts(def)...)
	return c.drive(ctx, &v.def, id, st)
}

// Recover finishes every unfinished saga in the log, as after a restart:
// one caught going forward runs its remaining steps (the one it was on
// again, with the same idempotency key), one caught compensating goes on
// compensating. Stuck sagas are left alone. A saga whose record does not
// fit (an unknown definition, another version of it, a step or phase out
// of its range, an unreadable record) is not touched: it stays in the log
// and Recover reports it with a *RecordError and goes on with the others.
// It returns how many sagas it drove to an end, and the errors of those it
// could not (joined: errs.Split lists them). A damaged log is an error
// wrapping ErrCorrupt, and nothing is driven. A step that calls
// runtime.Goexit ends the goroutine that called Recover, as in Run; its
// saga stays in the log for the next Recover.
func (c *Coordinator) Recover(ctx context.Context) (int, error) {
	if c == nil || c.log == nil {
		return 0, ErrNoLog
	}
	pass := c.startPass()
	defer c.endPass(pass)
	var recs []txlog.Record
	err := panics.Try(func() (err error) {
		recs, err = c.log.Claim(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	var errsOut errs.Collector
	n := 0
	for _, r := range recs {
		v, st, rerr := c.match(r)
		if rerr != nil {
			errsOut.Add(rerr)
			continue
		}
		if st.Phase == "s" {
			continue
		}
		drove, err := c.recoverOne(ctx, pass, v, r.ID, st)
		if err != nil {
			errsOut.Add(err)
		} else if drove {
			n++
		}
	}
	return n, errsOut.Err()
}

// recoverOne drives one saga Recover found, unless it is being driven
// here or was since the log was read. It marks the saga in flight and
// releases it in a deferred call, so that a step's runtime.Goexit (which
// ends the goroutine) does not leave it marked, skipped by every later
// Recover.
func (c *Coordinator) recoverOne(ctx context.Context, pass *recoverPass, v *defVersion, id string, st state) (bool, error) {
	if _, running := c.inflight.LoadOrStore(id, true); running {
		return false, nil // Run or another Recover is driving it
	}
	defer c.release(id)
	if _, stale := pass.driven.Load(id); stale {
		return false, nil // driven since the log was read: the next Recover sees it as it is
	}
	out, err := c.drive(ctx, &v.def, id, st)
	var se *StepError
	if (err != nil && !errors.As(err, &se)) || out == Stuck {
		return false, fmt.Errorf("saga %s: %w", id, err)
	}
	return true, nil
}

// recoverPass is one Recover call's view of the sagas driven since it
// read the log.
type recoverPass struct{ driven sync.Map }

func (c *Coordinator) startPass() *recoverPass {
	p := &recoverPass{}
	c.passes.Lock()
	if c.passes.active == nil {
		c.passes.active = map[*recoverPass]struct{}{}
	}
	c.passes.active[p] = struct{}{}
	c.passes.Unlock()
	return p
}

func (c *Coordinator) endPass(p *recoverPass) {
	c.passes.Lock()
	delete(c.passes.active, p)
	c.passes.Unlock()
}

// release ends this coordinator's driving of saga id: the Recover calls
// under way note that their copy of its record may be stale (it may even
// be deleted), before another may drive it.
func (c *Coordinator) release(id string) {
	c.passes.Lock()
	for p := range c.passes.active {
		p.driven.Store(id, true)
	}
	c.passes.Unlock()
	c.inflight.Delete(id)
}

// match finds the definition version that wrote a record and checks that
// the record fits it.
func (c *Coordinator) match(r txlog.Record) (*defVersion, state, *RecordError) {
	st, err := decodeState(r.State)
	if err != nil {
		kind := ErrBadRecord
		if err == errUnversioned {
			kind = ErrDefinitionChanged
		}
		return nil, st, &RecordError{ID: r.ID, Saga: st.Def, Reason: err.Error(), Err: kind}
	}
	bad := func(kind error, format string, args ...any) (*defVersion, state, *RecordError) {
		return nil, st, &RecordError{ID: r.ID, Saga: st.Def, Reason: fmt.Sprintf(format, args...), Err: kind}
	}
	cur := c.defs[st.Def]
	if cur == nil {
		return bad(ErrUnknownSaga, "no definition named %q", st.Def)
	}
	v := c.versions[defKey{st.Def, st.Version, st.Steps}]
	if v == nil {
		return bad(ErrDefinitionChanged, "written by version %q with steps %s; this coordinator's is version %q with steps %s (%v)",
			st.Version, st.Steps, cur.key.version, cur.key.steps, stepNames(&cur.def))
	}
	if err := st.fits(&v.def); err != nil {
		return bad(ErrBadRecord, "%v", err)
	}
	return v, st, nil
}

// drive runs a saga from st to its end, writing each transition first.
func (c *Coordinator) drive(ctx context.Context, d *Definition, id string, st state) (Outcome, error) {
	ctx, span := c.inst.tracer.Start(ctx, "saga "+d.Name, trace.WithAttributes(
		attribute.String("saga.name", d.Name), attribute.String("saga.id", id)))
	defer span.End()
	save := func() error { return panics.Try(func() error { return c.log.Save(ctx, id, st.encode()) }) }
	del := func() error { return panics.Try(func() error { return c.log.Delete(ctx, id) }) }
	var cause error
	for st.Phase == "f" && st.Step < len(d.Steps) {
		step := &d.Steps[st.Step]
		if err := c.runAction(ctx, d.Name, id, step, st.Input); err != nil {
			if callerEnded(ctx, err) {
				// The caller gave up, not the step: leave the saga where it
				// is for Recover rather than compensate it.
				errs.Record(span, err)
				return 0, err
			}
			cause = err
			// The cause is stored as UTF-8: JSON would write other bytes as
			// U+FFFD, and the record would not read back as written.
			st.Phase, st.Step, st.Cause, st.Failed = "c", st.Step-1, strings.ToValidUTF8(err.Error(), "\uFFFD"), step.Name
		} else {
			st.Step++
		}
		if err := save(); err != nil {
			errs.Record(span, err)
			return 0, err
		}
	}
	if st.Phase == "f" {
		if err := del(); err != nil {
			return 0, err
		}
		c.inst.completed.Add(ctx, 1, c.inst.defOpts(d.Name)...)
		return Completed, nil
	}
	if cause == nil {
		cause = errors.New(st.Cause)
	}
	for st.Step >= 0 {
		step := &d.Steps[st.Step]
		if err := c.runCompensation(ctx, d.Name, id, step, st.Input); err != nil {
			if callerEnded(ctx, err) {
				errs.Record(span, err)
				return 0, err
			}
			st.Phase = "s"
			if serr := save(); serr != nil {
				return 0, serr
			}
			c.inst.stuck.Add(ctx, 1, c.inst.defOpts(d.Name)...)
			err = &StepError{Saga: d.Name, ID: id, Step: "compensate " + step.Name, Outcome: Stuck,
				Err: fmt.Errorf("%w (compensating the failure of %s: %v)", err, st.Failed, cause)}
			errs.Record(span, err)
			return Stuck, err
		}
		st.Step--
		if err := save(); err != nil {
			return 0, err
		}
	}
	if err := del(); err != nil {
		return 0, err
	}
	c.inst.compensated.Add(ctx, 1, c.inst.defOpts(d.Name)...)
	err := &StepError{Saga: d.Name, ID: id, Step: st.Failed, Outcome: Compensated, Err: cause}
	errs.Record(span, err)
	return Compensated, err
}

// callerEnded reports whether a step stopped because the caller's context
// ended (or its deadline would pass before the next attempt), rather than
// because the step failed.
func callerEnded(ctx context.Context, err error) bool {
	var re *errs.RetryError
	return ctx.Err() != nil || (errors.As(err, &re) && (re.Stop == errs.StopContext || re.Stop == errs.StopDeadline))
}

// runAction tries a step's action up to its attempts.
func (c *Coordinator) runAction(ctx context.Context, d, id string, s *Step, input []byte) error {
	ctx, span := c.inst.tracer.Start(ctx, "step "+s.Name)
	defer span.End()
	attempts := s.Attempts
	if attempts == 0 {
		attempts = 3
	}
	key := idempotencyKey(d, id, s.Name, false)
	_, err := errs.Retry(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, call(ctx, s.Timeout, s.Action, key, input)
	}, errs.WithMaxAttempts(attempts), errs.WithBackoff(c.cfg.backoff, c.cfg.maxBackoff))
	errs.Record(span, err)
	return err
}

// runCompensation retries a step's compensation up to the bound.
func (c *Coordinator) runCompensation(ctx context.Context, d, id string, s *Step, input []byte) error {
	if s.Compensate == nil {
		return nil
	}
	ctx, span := c.inst.tracer.Start(ctx, "compensate "+s.Name)
	defer span.End()
	key := idempotencyKey(d, id, s.Name, true)
	_, err := errs.Retry(ctx, func(ctx context.Context) (struct{}, error) {
		err := call(ctx, s.Timeout, s.Compensate, key, input)
		if errs.IsPermanent(err) {
			// A compensation is retried whatever it says: hide the mark,
			// at whatever depth, from Retry.
			err = hiddenPermanent{err}
		}
		return struct{}{}, err
	}, errs.WithMaxAttempts(c.cfg.compensationAttempts), errs.WithBackoff(c.cfg.backoff, c.cfg.maxBackoff))
	var re *errs.RetryError
	if errors.As(err, &re) { // give the attempts' errors back as they were
		cp := *re
		cp.Errs = slices.Clone(re.Errs)
		for i, e := range cp.Errs {
			if h, ok := e.(hiddenPermanent); ok {
				cp.Errs[i] = h.err
			}
		}
		err = &cp
	}
	errs.Record(span, err)
	return err
}

// hiddenPermanent is a compensation's permanent error as Retry sees it:
// the same message, and no Unwrap, so that Retry tries again.
type hiddenPermanent struct{ err error }

func (h hiddenPermanent) Error() string { return h.err.Error() }

// idempotencyKey is the key a step's action (or compensation) receives:
// the definition name, the saga ID and the step name, each as its length
// in bytes, a colon and itself, then "do" or "undo", separated by '/':
// "6:settle/7:trade-7/7:reserve/do". The lengths make it injective (no two
// steps of any sagas share a key, whatever bytes the parts hold) and it
// is printable when the parts are.
func idempotencyKey(def, id, step string, compensate bool) string {
	kind := "do"
	if compensate {
		kind = "undo"
	}
	return fmt.Sprintf("%d:%s/%d:%s/%d:%s/%s", len(def), def, len(id), id, len(step), step, kind)
}

// call runs fn with an optional timeout, turning a panic into an error.
func call(ctx context.Context, timeout time.Duration, fn func(context.Context, string, []byte) error, key string, input []byte) (err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err = panics.Try(func() error { return fn(ctx, key, input) }); err != nil {
		var pe *panics.Error
		if errors.As(err, &pe) {
			err = errs.Permanent(err) // a panic is a bug: retrying repeats it
		}
	}
	return err
}
