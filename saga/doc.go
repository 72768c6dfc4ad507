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
// every try: make the step harmless to repeat with it. An action's error
// is retried with backoff unless it is errs.Permanent; a permanent failure
// compensates the steps done, in reverse order. A compensation is retried
// up to a bound, and past it the saga is marked Stuck and left for a
// person instead of looping forever. The log is a bbolt file by default
// (concurrent sagas' writes share a synced commit: ~4,400 sagas of three
// steps a second from 64 goroutines here, BenchmarkSaga), a PostgreSQL
// table shared by several coordinator processes that lease the sagas they
// drive (NewPostgresLog; ~2,100 a second), or memory for tests.
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
