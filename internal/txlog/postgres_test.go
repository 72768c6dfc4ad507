package txlog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otlpgo/otlpgo/internal/txlog"
)

func pgPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv("OTLPGO_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OTLPGO_PG_DSN is not set: scripts/test.sh starts PostgreSQL")
		}
		t.Skip("OTLPGO_PG_DSN is not set: run scripts/test.sh, or eval \"$(scripts/postgres.sh start)\"")
	}
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func pgTable(t *testing.T, p *pgxpool.Pool) string {
	table := fmt.Sprintf("txlog_test_%d", rand.IntN(1<<30))
	t.Cleanup(func() { _, _ = p.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) })
	return table
}

func TestPostgres(t *testing.T) {
	p := pgPool(t)
	table := pgTable(t, p)
	conformance(t, func() txlog.Log {
		l, err := txlog.NewPostgres(context.Background(), p, table, "me", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
	if _, err := txlog.NewPostgres(context.Background(), p, "Bad-Name", "me", time.Minute); err == nil {
		t.Fatal("an unsafe table name was accepted")
	}
}

// TestPostgresLeases shows two coordinators sharing a log: a live lease
// keeps a transaction with its coordinator; an expired one lets the
// other take it over, and the first is then refused.
func TestPostgresLeases(t *testing.T) {
	ctx := context.Background()
	p := pgPool(t)
	table := pgTable(t, p)
	a, err := txlog.NewPostgres(ctx, p, table, "a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := txlog.NewPostgres(ctx, p, table, "b", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, "live", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if recs, err := b.Claim(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("b claimed %d live transactions of a's, %v", len(recs), err)
	}
	// A coordinator with a lease that expires at once, as one that died.
	dead, err := txlog.NewPostgres(ctx, p, table, "dead", time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.Create(ctx, "orphan", []byte("1")); err != nil {
		t.Fatal(err)
	}
	var recs []txlog.Record
	for len(recs) == 0 { // the lease expires within microseconds
		if recs, err = b.Claim(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs) != 1 || recs[0].ID != "orphan" {
		t.Fatalf("b claimed %+v, want the orphan only", recs)
	}
	if err := dead.Save(ctx, "orphan", []byte("2")); !errors.Is(err, txlog.ErrLeaseLost) {
		t.Fatalf("the old owner's Save after the takeover: %v", err)
	}
	if err := b.Save(ctx, "orphan", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if recs, err := a.Claim(ctx); err != nil || len(recs) != 1 || recs[0].ID != "live" {
		t.Fatalf("a's own claim: %+v, %v", recs, err)
	}
}
