// Package saga runs sagas that survive a crash: ordered steps, each an
// action and a compensation, driven by a coordinator that writes every
// transition to a durable log before acting on it, and that finishes or
// compensates, after a restart, every saga it finds unfinished
// (Coordinator.Recover).
//
//	log, err := saga.OpenBoltLog("sagas.db")
//	c, err := saga.New(log, []saga.Definition{{Name: "settle", Steps: []saga.Step{
//		{Name: "debit", Action: debit, Compensate: refund},
//		{Name: "credit", Action: credit, Compensate: reverseCredit},
//	}}})
//	n, err := c.Recover(ctx)                        // at start: finish what a crash left
//	outcome, err := c.Run(ctx, "settle", tradeID, payload)
//
// A step may run more than once (a crash between doing it and logging it
// means doing it again), so each receives an idempotency key, the same on
// every try: make the step harmless to repeat with it. The key names the
// definition, the saga ID and the step, each as its length in bytes, a
// colon and itself, and then "do" for the action or "undo" for the
// compensation, separated by '/' — "6:settle/7:trade-7/7:reserve/do" — so
// that no two steps of any sagas share a key, whatever their names and IDs
// hold. This form is stable. It replaced "<id>/<step>" and
// "<id>/<step>/compensate", which two steps could share: a saga in flight
// across that upgrade gets keys of the new form for its remaining steps
// and compensations, so a step done before the upgrade and tried again
// after it is not recognised by its key; finish such sagas (Recover) with
// the old release before upgrading, or make those steps recognise both
// forms. An action's error is retried with backoff unless it is
// errs.Permanent; a permanent failure compensates the steps done, in
// reverse order. A compensation is retried up to a bound whatever it
// returns (errs.Permanent too), and past it the saga is marked Stuck and
// left for a person instead of looping forever. The log is a bbolt file by
// default (concurrent sagas' writes share a synced commit: ~4,400 sagas of
// three steps a second from 64 goroutines here, BenchmarkSaga), a
// PostgreSQL table shared by several coordinator processes that lease the
// sagas they drive (NewPostgresLog; ~2,100 a second), or memory for tests.
//
// # Definitions change; records are checked
//
// Each saga's record names the version of its definition that wrote it:
// the definition's Version (optional) and a fingerprint of its step
// names that New computes. Recover finishes a saga only with that
// version, so a deploy that adds, removes, renames or reorders steps (or
// changes Version) does not run an unfinished saga's remaining steps from
// another list. To let such sagas end, list the previous version in New
// as well, before the new one: Run starts sagas on the last definition
// listed under a name, Recover finishes each with its own.
//
// A record that does not fit — an unknown definition, another version, a
// step or phase out of range, bytes that are not a record this package
// wrote — is not driven or deleted: it stays in the log (quarantined) and
// Recover reports it with a *RecordError (ErrUnknownSaga,
// ErrDefinitionChanged or ErrBadRecord, with the saga's ID and the
// reason), and goes on with the others; errs.Split lists the joined
// errors. A damaged bbolt file, or a record whose checksum fails, is an
// error wrapping ErrCorrupt from OpenBoltLog or Recover, never a panic,
// and the file is left as it was. A bbolt file written by the first
// release is not converted behind the operator's back (the first
// release, rolled back to, would find it empty): OpenBoltLog refuses it
// with ErrLegacyLog and leaves it as it is; finish its sagas with the
// first release, or convert it with ConvertBoltLog. A file in a newer
// release's format is ErrUnsupportedVersion (not ErrCorrupt), left as it
// is. Records written before versions existed carry none and are
// reported as ErrDefinitionChanged: let Recover finish them with the
// release that wrote them before upgrading.
//
// A step that panics fails permanently (the panic is a *panics.Error). A
// step that calls runtime.Goexit ends the goroutine that called Run or
// Recover, which does not return; the saga stays in the log, where it
// was, and the next Recover finishes it.
//
// Telemetry: a span per saga ("saga <name>") with a child per step and
// compensation, and counters saga.started, saga.completed,
// saga.compensated and saga.stuck.
//
// A crash test kills a child process with SIGKILL after every log write
// and every applied step, hundreds of times, and checks after recovery
// that each saga completed or was fully compensated, each step applied
// once in effect.
//
// # What does not belong here
//
// Two-phase commit across resource managers belongs to package twopc.
// Steps run in order; parallel groups of steps are not offered yet.
package saga
