package twopc_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/twopc"
)

const (
	childEnv    = "OTLPGO_TWOPC_CRASH_CHILD"
	killEnv     = "OTLPGO_TWOPC_KILL"
	prefixEnv   = "OTLPGO_TWOPC_PREFIX"
	dsnEnv      = "OTLPGO_PG_DSN"
	crashTables = "otlpgo_crash_a, otlpgo_crash_b"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		// pgx's own: after a connection closed by a timeout, the pool waits
		// 500 ms before a health check, and the closing connection sends the
		// server a cancel request; both end by themselves.
		goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).triggerHealthCheck.func1"),
		goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgconn.(*PgConn).asyncClose.func1"))
}

// pool connects to the test PostgreSQL (scripts/postgres.sh), or skips the
// test when there is none, unless CI=true.
func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: scripts/test.sh starts PostgreSQL", dsnEnv)
		}
		t.Skipf("%s is not set: run scripts/test.sh, or eval \"$(scripts/postgres.sh start)\"", dsnEnv)
	}
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func mustPG(t testing.TB, name string, p *pgxpool.Pool) *twopc.Postgres {
	t.Helper()
	r, err := twopc.NewPostgres(name, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exec1(t testing.TB, p *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := p.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t testing.TB, p *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := p.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// insert is a participant's work: a row for the transaction, failing when
// the amount is negative.
func insert(table, txid string, amount int) func(context.Context, pgx.Tx) error {
	return func(ctx context.Context, tx pgx.Tx) error {
		if amount < 0 {
			return errors.New("insufficient funds")
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+table+" (txid, amount) VALUES ($1, $2)", txid, amount)
		return err
	}
}

func TestPostgresParticipants(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	sfx := strconv.Itoa(rand.IntN(1 << 30))
	ta, tb := "acct_a_"+sfx, "acct_b_"+sfx
	for _, tbl := range []string{ta, tb} {
		exec1(t, p, "CREATE TABLE "+tbl+" (txid text PRIMARY KEY, amount int)")
		t.Cleanup(func() { _, _ = p.Exec(context.Background(), "DROP TABLE "+tbl) })
	}
	a, b := mustPG(t, "a", p), mustPG(t, "b", p)
	c, err := twopc.New(twopc.NewMemoryLog(), map[string]twopc.Resource{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	ok, bad := "t"+sfx+"-ok", "t"+sfx+"-bad"
	if out, err := c.Run(ctx, ok, a.Participant(insert(ta, ok, 5)), b.Participant(insert(tb, ok, 5))); out != twopc.Committed || err != nil {
		t.Fatalf("Run = %v, %v", out, err)
	}
	out, err := c.Run(ctx, bad, a.Participant(insert(ta, bad, 5)), b.Participant(insert(tb, bad, -1)))
	if out != twopc.Aborted || err == nil {
		t.Fatalf("Run with a failing participant = %v, %v", out, err)
	}
	if n := count(t, p, "SELECT (SELECT count(*) FROM "+ta+" WHERE txid = $1) + (SELECT count(*) FROM "+tb+" WHERE txid = $1)", ok); n != 2 {
		t.Fatalf("committed transaction: %d rows, want 2", n)
	}
	if n := count(t, p, "SELECT (SELECT count(*) FROM "+ta+" WHERE txid = $1) + (SELECT count(*) FROM "+tb+" WHERE txid = $1)", bad); n != 0 {
		t.Fatalf("aborted transaction: %d rows, want 0", n)
	}
	// A retried commit or abort of a finished part succeeds (SQLSTATE
	// 42704 from the server means it is done).
	if err := a.Commit(ctx, ok); err != nil {
		t.Fatalf("second COMMIT PREPARED: %v", err)
	}
	if err := a.Abort(ctx, "never-prepared"); err != nil {
		t.Fatalf("ROLLBACK PREPARED of an unknown ID: %v", err)
	}
	if err := a.Commit(ctx, "bad'id"); !errors.Is(err, twopc.ErrInvalidID) {
		t.Fatalf("an unsafe ID: %v", err)
	}
	if err := a.Abort(ctx, "bad'id"); err != nil {
		t.Fatalf("Abort of an ID that could never be prepared: %v", err)
	}
	if _, err := twopc.NewPostgres("bad name", p); !errors.Is(err, twopc.ErrInvalidID) {
		t.Fatalf("an unsafe participant name: %v", err)
	}
	var zero twopc.Postgres
	if err := zero.Commit(ctx, "x"); !errors.Is(err, twopc.ErrInvalidID) {
		t.Fatalf("the zero Postgres: %v", err)
	}
	// Work that swallows a failed statement leaves an aborted transaction,
	// which PostgreSQL rolls back instead of preparing: the prepare fails.
	swallow := a.Participant(func(ctx context.Context, tx pgx.Tx) error {
		_, _ = tx.Exec(ctx, "SELECT 1/0")
		return nil
	})
	if out, err := c.Run(ctx, "t"+sfx+"-swallow", swallow); out != twopc.Aborted || err == nil {
		t.Fatalf("a transaction that failed before PREPARE: %v, %v", out, err)
	}
	if n := count(t, p, "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE $1", "t"+sfx+"%"); n != 0 {
		t.Fatalf("%d prepared transactions left", n)
	}
}

// TestPrepareTimeoutLeavesNoOrphan: a PREPARE TRANSACTION the server is
// still running when the prepare timeout ends (a deferred trigger makes
// it slow) must not leave a prepared transaction behind, holding its
// locks, once the coordinator has aborted. (pgx closes the connection and
// sends the server a cancel request, which stops the trigger.)
func TestPrepareTimeoutLeavesNoOrphan(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	sfx := strconv.Itoa(rand.IntN(1 << 30))
	tbl := "slow_" + sfx
	exec1(t, p, "CREATE TABLE "+tbl+" (txid text PRIMARY KEY)")
	t.Cleanup(func() {
		_, _ = p.Exec(context.Background(), "DROP TABLE "+tbl)
		_, _ = p.Exec(context.Background(), "DROP FUNCTION "+tbl+"_sleep")
	})
	exec1(t, p, "CREATE FUNCTION "+tbl+"_sleep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$")
	exec1(t, p, "CREATE CONSTRAINT TRIGGER "+tbl+"_slow AFTER INSERT ON "+tbl+
		" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "+tbl+"_sleep()")
	slow := mustPG(t, "slow", p)
	c, err := twopc.New(twopc.NewMemoryLog(), map[string]twopc.Resource{"slow": slow}, twopc.WithPrepareTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	id := "t" + sfx + "-slow"
	out, err := c.Run(ctx, id, slow.Participant(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (txid) VALUES ($1)", id)
		return err
	}))
	if out != twopc.Aborted || err == nil {
		t.Fatalf("Run with a prepare slower than its timeout = %v, %v; want Aborted and an error", out, err)
	}
	// Whatever Run left running on the server has to end before the
	// outcome can be read: wait for no backend to be running the PREPARE.
	deadline := time.Now().Add(30 * time.Second)
	for count(t, p, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()", "PREPARE TRANSACTION '"+id+"%") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the PREPARE is still running on the server after 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(t, p, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = $1", id+".slow"); n != 0 {
		t.Fatalf("an aborted transaction left %d prepared transaction(s) behind, holding their locks", n)
	}
	if n := count(t, p, "SELECT count(*) FROM "+tbl); n != 0 {
		t.Fatalf("an aborted transaction left %d row(s)", n)
	}
}

// TestAbortWhilePrepareInFlight: an Abort of a part whose PREPARE
// TRANSACTION is still running on the server (its coordinator died, or
// its prepare timeout ended, while the server ran it) must not report the
// part aborted, or the coordinator forgets the transaction and the PREPARE
// then completes, leaving a prepared transaction that nobody finishes,
// holding its locks for ever (TestCrashAndRecover's "kill 14: 1 prepared
// transactions left"). A deferred trigger that waits for a row the test
// holds keeps the PREPARE running for as long as the test needs.
func TestAbortWhilePrepareInFlight(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	sfx := strconv.Itoa(rand.IntN(1 << 30))
	tbl := "gated_" + sfx
	exec1(t, p, "CREATE TABLE "+tbl+" (txid text PRIMARY KEY)")
	exec1(t, p, "CREATE TABLE "+tbl+"_gate (id int PRIMARY KEY)")
	t.Cleanup(func() {
		_, _ = p.Exec(context.Background(), "DROP TABLE "+tbl+", "+tbl+"_gate")
		_, _ = p.Exec(context.Background(), "DROP FUNCTION "+tbl+"_wait")
	})
	exec1(t, p, "INSERT INTO "+tbl+"_gate VALUES (1)")
	exec1(t, p, "CREATE FUNCTION "+tbl+"_wait() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM 1 FROM "+tbl+
		"_gate WHERE id = 1 FOR UPDATE; RETURN NULL; END $$")
	exec1(t, p, "CREATE CONSTRAINT TRIGGER "+tbl+"_gated AFTER INSERT ON "+tbl+
		" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "+tbl+"_wait()")
	r := mustPG(t, "gated", p)
	id := "t" + sfx + "-inflight"
	gid := id + ".gated"
	part := r.Participant(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+tbl+" (txid) VALUES ($1)", id)
		return err
	})

	// Close the gate, then prepare: the PREPARE runs the deferred trigger,
	// which waits for the gate.
	gate, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gate.Exec(ctx, "SELECT 1 FROM "+tbl+"_gate WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	prepared := make(chan error, 1)
	go func() { prepared <- part.Prepare(ctx, id) }()
	released := false
	release := func() error {
		if released {
			return nil
		}
		released = true
		_ = gate.Rollback(ctx)
		return <-prepared
	}
	t.Cleanup(func() {
		_ = release()
		_, _ = p.Exec(context.Background(), "ROLLBACK PREPARED '"+gid+"'")
	})
	deadline := time.Now().Add(30 * time.Second)
	for count(t, p, "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND wait_event_type = 'Lock'", "PREPARE TRANSACTION '"+gid+"'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the PREPARE is not waiting for the gate after 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	abortErr := r.Abort(ctx, id)
	if err := release(); err != nil {
		t.Fatalf("Prepare, once the gate opened: %v", err)
	}
	if abortErr == nil {
		n := count(t, p, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = $1", gid)
		t.Fatalf("Abort reported the part aborted while its PREPARE was running; the PREPARE then completed, leaving %d prepared transaction(s) that nobody will finish", n)
	}
	// The coordinator retries the abort: now the part is prepared, and
	// rolled back.
	if err := r.Abort(ctx, id); err != nil {
		t.Fatalf("Abort of the prepared part: %v", err)
	}
	if n := count(t, p, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = $1", gid); n != 0 {
		t.Fatalf("%d prepared transaction(s) left after Abort", n)
	}
	if n := count(t, p, "SELECT count(*) FROM "+tbl); n != 0 {
		t.Fatalf("an aborted part left %d row(s)", n)
	}
	// A finished part is aborted again without complaint: its lock went
	// with it.
	if err := r.Abort(ctx, id); err != nil {
		t.Fatalf("Abort of a part already rolled back: %v", err)
	}
}

func TestBarrier(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	exec1(t, p, twopc.BarrierTable)
	id := "barrier-" + strconv.Itoa(rand.IntN(1<<30))
	try := func(commit bool) bool {
		tx, err := p.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		first, err := twopc.Barrier(ctx, tx, id, "prepare")
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !try(false) || !try(true) || try(true) {
		t.Fatal("Barrier: a rolled-back attempt must leave no mark, then the first committed call is first and the next is not")
	}
}

// killer kills the process after its n-th successful call, in the log or
// in a participant (prepare, commit, abort).
type killer struct{ n atomic.Int64 }

func (k *killer) after(err error) error {
	if err == nil && k.n.Add(-1) == 0 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return err
}

type killLog struct {
	twopc.Log
	k *killer
}

func (l killLog) Create(ctx context.Context, id string, s []byte) error {
	return l.k.after(l.Log.Create(ctx, id, s))
}
func (l killLog) Save(ctx context.Context, id string, s []byte) error {
	return l.k.after(l.Log.Save(ctx, id, s))
}
func (l killLog) Delete(ctx context.Context, id string) error {
	return l.k.after(l.Log.Delete(ctx, id))
}

type killResource struct {
	twopc.Resource
	k *killer
}

func (r killResource) Commit(ctx context.Context, id string) error {
	return r.k.after(r.Resource.Commit(ctx, id))
}
func (r killResource) Abort(ctx context.Context, id string) error {
	return r.k.after(r.Resource.Abort(ctx, id))
}

type killParticipant struct {
	twopc.Participant
	k *killer
}

func (p killParticipant) Prepare(ctx context.Context, id string) error {
	return p.k.after(p.Participant.Prepare(ctx, id))
}

// crashTxs are the child's transactions: two commit, the second aborts
// (its participant b fails).
var crashTxs = []string{"1", "2", "3"}

func runChild(dir string) error {
	ctx := context.Background()
	p, err := pgxpool.New(ctx, os.Getenv(dsnEnv))
	if err != nil {
		return err
	}
	k := &killer{}
	n, _ := strconv.Atoi(os.Getenv(killEnv))
	k.n.Store(int64(n))
	base, err := twopc.OpenBoltLog(filepath.Join(dir, "log.db"))
	if err != nil {
		return err
	}
	a, err := twopc.NewPostgres("a", p)
	if err != nil {
		return err
	}
	b, err := twopc.NewPostgres("b", p)
	if err != nil {
		return err
	}
	c, err := twopc.New(killLog{base, k}, map[string]twopc.Resource{"a": killResource{a, k}, "b": killResource{b, k}},
		twopc.WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		return err
	}
	prefix := os.Getenv(prefixEnv)
	for _, tx := range crashTxs {
		id := prefix + tx
		amount := 1
		if tx == "2" {
			amount = -1
		}
		_, _ = c.Run(ctx, id, killParticipant{a.Participant(insert("otlpgo_crash_a", id, 1)), k},
			killParticipant{b.Participant(insert("otlpgo_crash_b", id, amount)), k})
	}
	return nil
}

// TestCrashAndRecover kills a child coordinator with SIGKILL after each of
// its log writes and each participant's prepare, commit and abort, over
// several rounds; a new coordinator recovers from the same log; every
// transaction must be committed on both participants or on none, with no
// prepared transaction left in PostgreSQL.
func TestCrashAndRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary dozens of times")
	}
	ctx := context.Background()
	p := pool(t)
	for _, tbl := range strings.Split(crashTables, ", ") {
		exec1(t, p, "CREATE TABLE IF NOT EXISTS "+tbl+" (txid text PRIMARY KEY, amount int)")
	}
	const points = 20 // log writes 3+2+3, participant calls 4+4+4
	rounds := 3
	matrix := map[string]int{}
	kills := 0
	run := rand.IntN(1 << 30)
	for round := range rounds {
		for n := 1; n <= points; n++ {
			dir := t.TempDir()
			prefix := fmt.Sprintf("c%d-r%d-k%d-", run, round, n)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+dir, fmt.Sprintf("%s=%d", killEnv, n), prefixEnv+"="+prefix)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
				kills++
			default:
				t.Fatalf("kill %d: child failed: %v\n%s", n, err, out)
			}
			log, err := twopc.OpenBoltLog(filepath.Join(dir, "log.db"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := twopc.New(log, map[string]twopc.Resource{"a": mustPG(t, "a", p), "b": mustPG(t, "b", p)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recover(ctx); err != nil {
				t.Fatalf("kill %d: Recover: %v", n, err)
			}
			log.Close()
			if left := count(t, p, "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE $1", prefix+"%"); left != 0 {
				t.Fatalf("kill %d: %d prepared transactions left", n, left)
			}
			for _, tx := range crashTxs {
				id := prefix + tx
				ra := count(t, p, "SELECT count(*) FROM otlpgo_crash_a WHERE txid = $1", id)
				rb := count(t, p, "SELECT count(*) FROM otlpgo_crash_b WHERE txid = $1", id)
				outcome := "committed"
				switch {
				case ra != rb:
					t.Fatalf("kill %d: transaction %s committed on %d of 2 participants", n, id, ra+rb)
				case ra == 0:
					outcome = "aborted"
				case tx == "2":
					t.Fatalf("kill %d: transaction %s committed though b failed", n, id)
				}
				matrix[fmt.Sprintf("kill %2d tx %s %s", n, tx, outcome)]++
			}
		}
	}
	var lines []string
	for k, v := range matrix {
		lines = append(lines, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(lines)
	t.Logf("%d kills over %d rounds; kill point x transaction outcome:\n%s", kills, rounds, strings.Join(lines, "\n"))
}
