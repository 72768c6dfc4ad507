package saga_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/otlpgo/otlpgo/errs"
	"github.com/otlpgo/otlpgo/saga"
)

// The crash test re-executes this test binary as a child that runs sagas
// on a bbolt log and kills itself with SIGKILL at a chosen point: after
// its n-th log write, or after its n-th applied effect (between a step's
// effect and the log write that records it). The parent then recovers
// with a fresh coordinator on the same files and checks the outcome.
const (
	childEnv     = "OTLPGO_SAGA_CRASH_CHILD"
	killWriteEnv = "OTLPGO_SAGA_KILL_WRITE"
	killApplyEnv = "OTLPGO_SAGA_KILL_APPLY"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := runChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// crashSagas are the child's sagas: two that complete, one whose third
// step fails permanently and is compensated.
var crashSagas = []string{"ok-1", "fail-2", "ok-3"}

// effects is a durable record of applied actions and compensations: a
// bbolt file with one key per idempotency key, written in the same
// transaction that checks it, so that a step run twice applies once.
type effects struct {
	db    *bolt.DB
	calls atomic.Int64 // calls, including ones that found their key applied
	after func()       // called after each effect is durable
}

var applied = []byte("applied")

func openEffects(path string) (*effects, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(applied); return err })
	return &effects{db: db}, err
}

func (e *effects) apply(key string) error {
	e.calls.Add(1)
	fresh := false
	err := e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(applied)
		if b.Get([]byte(key)) != nil {
			return nil // done before: the key makes the retry harmless
		}
		fresh = true
		return b.Put([]byte(key), []byte{1})
	})
	if err == nil && fresh && e.after != nil {
		e.after()
	}
	return err
}

func (e *effects) keys() (map[string]bool, error) {
	out := map[string]bool{}
	err := e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(applied).ForEach(func(k, _ []byte) error { out[string(k)] = true; return nil })
	})
	return out, err
}

func crashDefinition(e *effects) saga.Definition {
	step := func(name string) saga.Step {
		return saga.Step{
			Name: name,
			Action: func(_ context.Context, key string, _ []byte) error {
				if name == "ship" && strings.HasPrefix(short(key), "fail-") {
					return errs.Permanent(errors.New("out of stock"))
				}
				return e.apply(short(key))
			},
			Compensate: func(_ context.Context, key string, _ []byte) error { return e.apply(short(key)) },
		}
	}
	return saga.Definition{Name: "order", Steps: []saga.Step{step("reserve"), step("charge"), step("ship")}}
}

// killingLog kills the process after its n-th write.
type killingLog struct {
	saga.Log
	n atomic.Int64
}

func (l *killingLog) wrote(err error) error {
	if err == nil && l.n.Add(-1) == 0 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return err
}

func (l *killingLog) Create(ctx context.Context, id string, s []byte) error {
	return l.wrote(l.Log.Create(ctx, id, s))
}
func (l *killingLog) Save(ctx context.Context, id string, s []byte) error {
	return l.wrote(l.Log.Save(ctx, id, s))
}
func (l *killingLog) Delete(ctx context.Context, id string) error {
	return l.wrote(l.Log.Delete(ctx, id))
}

func runChild(dir string) error {
	base, err := saga.OpenBoltLog(filepath.Join(dir, "log.db"))
	if err != nil {
		return err
	}
	log := &killingLog{Log: base}
	if n, _ := strconv.Atoi(os.Getenv(killWriteEnv)); n > 0 {
		log.n.Store(int64(n))
	}
	e, err := openEffects(filepath.Join(dir, "effects.db"))
	if err != nil {
		return err
	}
	if n, _ := strconv.Atoi(os.Getenv(killApplyEnv)); n > 0 {
		var count atomic.Int64
		e.after = func() {
			if count.Add(1) == int64(n) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	c, err := saga.New(log, []saga.Definition{crashDefinition(e)}, saga.WithBackoff(1, 1))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup // concurrently: each run interleaves differently
	for _, id := range crashSagas {
		wg.Go(func() { _, _ = c.Run(context.Background(), "order", id, nil) })
	}
	wg.Wait()
	return nil
}

// TestCrashAndRecover kills the child at every log write and
// every applied effect, over several rounds, recovers, and checks that
// each saga either never started, completed (every action applied, no
// compensation), or was fully compensated (each applied action undone
// once), with nothing left in the log.
func TestCrashAndRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary hundreds of times")
	}
	const writes, applies = 17, 10 // per run: 5 + 7 + 5 log writes; 3 + 4 + 3 effects
	rounds := 8
	type cell struct{ point, outcome string }
	matrix := map[cell]int{}
	kills, clean := 0, 0
	for round := range rounds {
		for _, kind := range []string{killWriteEnv, killApplyEnv} {
			limit := writes
			if kind == killApplyEnv {
				limit = applies
			}
			for n := 1; n <= limit; n++ {
				dir := t.TempDir()
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+dir, fmt.Sprintf("%s=%d", kind, n))
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				switch {
				case err == nil:
					clean++ // the run ended before the kill point (concurrent runs write fewer times when they share a commit)
				case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
					kills++
				default:
					t.Fatalf("round %d, %s=%d: child failed: %v\n%s", round, kind, n, err, out)
				}
				point := fmt.Sprintf("%s %2d", strings.TrimPrefix(kind, "OTLPGO_SAGA_"), n)
				for id, outcome := range recoverAndCheck(t, dir) {
					matrix[cell{point, id[:strings.IndexByte(id, '-')] + " " + outcome}]++
				}
			}
		}
	}
	var lines []string
	for c, k := range matrix {
		lines = append(lines, fmt.Sprintf("%-14s %-20s %d", c.point, c.outcome, k))
	}
	sort.Strings(lines)
	t.Logf("%d kills (%d runs ended before their kill point), %d rounds; kill point x saga outcome:\n%s",
		kills, clean, rounds, strings.Join(lines, "\n"))
	if kills < 200 {
		t.Fatalf("only %d kills", kills)
	}
}

// recoverAndCheck recovers the sagas in dir and returns each saga's
// outcome, failing the test on any inconsistency.
func recoverAndCheck(t *testing.T, dir string) map[string]string {
	t.Helper()
	log, err := saga.OpenBoltLog(filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	e, err := openEffects(filepath.Join(dir, "effects.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.db.Close()
	c, err := saga.New(log, []saga.Definition{crashDefinition(e)}, saga.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recover(context.Background()); err != nil {
		t.Fatalf("%s: Recover: %v", dir, err)
	}
	if left, _ := log.Claim(context.Background()); len(left) != 0 {
		t.Fatalf("%s: %d sagas left in the log after Recover", dir, len(left))
	}
	keys, err := e.keys()
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, id := range crashSagas {
		do := func(step string) bool { return keys[id+"/"+step] }
		undo := func(step string) bool { return keys[id+"/"+step+"/compensate"] }
		switch {
		case !do("reserve") && !do("charge") && !do("ship") && !undo("reserve") && !undo("charge"):
			outcomes[id] = "not started"
		case strings.HasPrefix(id, "ok-") && do("reserve") && do("charge") && do("ship") && !undo("reserve") && !undo("charge") && !undo("ship"):
			outcomes[id] = "completed"
		case strings.HasPrefix(id, "fail-") && do("reserve") && do("charge") && !do("ship") && undo("reserve") && undo("charge") && !undo("ship"):
			outcomes[id] = "compensated"
		default:
			var got []string
			for k := range keys {
				if strings.HasPrefix(k, id+"/") {
					got = append(got, k)
				}
			}
			sort.Strings(got)
			t.Fatalf("%s: saga %s inconsistent after recovery: applied %v", dir, id, got)
		}
	}
	return outcomes
}
