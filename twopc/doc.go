// Package twopc commits a transaction across several resource managers
// all or nothing, and survives a crash of its coordinator: two-phase
// commit with presumed abort, a durable decision log, and recovery.
//
// The coordinator logs each transaction, asks every participant to
// prepare (each within a timeout), and only if all did logs the decision
// to commit, durably, before telling any to commit; it retries each
// participant's commit or abort until it acknowledges, within a budget
// (WithRetryBudget: 20 attempts within 30s by default), so that neither
// Run nor Recover runs for ever when ctx has no deadline. A transaction
// the log holds without a decision aborts (presumed abort).
// Coordinator.Recover, run at start, drives every in-doubt transaction to
// its logged decision; one a participant refuses past its budget comes
// back as an *InDoubtError (errors.Is ErrInDoubt) naming it, stays in the
// log for the next Recover, and does not hold up the others.
//
// # Panics
//
// Every method a user gives the coordinator (a Participant's Name and
// Prepare, a Resource's Commit and Abort, a wrapped Log's writes) runs
// under package panics, as does every goroutine the coordinator starts:
// a panic comes back through Run or Recover as a *panics.Error with its
// stack (errors.As), counted as that call's failure (a panicking Commit
// is retried like a failing one), and never crashes the process.
//
// A runtime.Goexit in a Prepare, Commit or Abort (t.FailNow in a test's
// fake) ends the goroutine the coordinator started for that call; it is
// detected (panics.Guard) and never passes for success: a Prepare that
// called it failed, so the transaction aborts, and a Commit or Abort
// that called it did not acknowledge, so the transaction is in doubt and
// stays in the log for Recover. The error matches panics.ErrGoexit.
// A TracerProvider or MeterProvider that panics in New, or starting
// Run's span, is New's or Run's error; one that panics later (ending a
// span, counting an outcome) is dropped, since it cannot undo a
// decision.
//
//	a, err := twopc.NewPostgres("orders", ordersPool)
//	b, err := twopc.NewPostgres("ledger", ledgerPool)
//	c, err := twopc.New(log, map[string]twopc.Resource{"orders": a, "ledger": b})
//	n, err := c.Recover(ctx) // at start
//	outcome, err := c.Run(ctx, txid,
//		a.Participant(func(ctx context.Context, tx pgx.Tx) error { return insertOrder(ctx, tx) }),
//		b.Participant(func(ctx context.Context, tx pgx.Tx) error { return debit(ctx, tx) }))
//
// The PostgreSQL participant uses prepared transactions (PREPARE
// TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED; the server needs
// max_prepared_transactions > 0): a prepared transaction survives a
// server crash and is finished from any session, by its ID alone. A
// retried COMMIT PREPARED that finds no such transaction (SQLSTATE 42704)
// was committed before, and is success. Barrier makes a participant's
// own handler idempotent.
//
// Logs: a bbolt file (the default), PostgreSQL shared by several
// coordinator processes with leases, or memory for tests. A crash test
// kills a child coordinator with SIGKILL after each log write and each
// participant's prepare, commit and abort, recovers, and checks that
// every transaction committed on all participants or on none, with no
// prepared transaction left in PostgreSQL.
//
// # What does not belong here
//
// Long-running business transactions with compensations belong to
// package saga. XA and distributed locks do not belong here.
package twopc
