package twopc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otlpgo/otlpgo/twopc"
)

// instant is a participant and resource that does nothing, so that the
// coordinator and its log are what is measured.
type instant string

func (i instant) Name() string                        { return string(i) }
func (instant) Prepare(context.Context, string) error { return nil }
func (instant) Commit(context.Context, string) error  { return nil }
func (instant) Abort(context.Context, string) error   { return nil }

// BenchmarkTwoPC runs transactions over two participants from 64
// goroutines: with participants that do nothing, over the in-memory,
// bbolt and PostgreSQL logs; and with two real PostgreSQL participants
// (an INSERT each, PREPARE TRANSACTION, COMMIT PREPARED) over the bbolt
// log. One op is one transaction.
func BenchmarkTwoPC(b *testing.B) {
	dsn := os.Getenv("OTLPGO_PG_DSN")
	for _, v := range []struct{ log, parts string }{{"memory", "instant"}, {"bolt", "instant"}, {"postgres", "instant"}, {"bolt", "postgres"}} {
		b.Run(fmt.Sprintf("log=%s/participants=%s/concurrency=64", v.log, v.parts), func(b *testing.B) {
			ctx := context.Background()
			var pool *pgxpool.Pool
			if v.log == "postgres" || v.parts == "postgres" {
				if dsn == "" {
					b.Skip("OTLPGO_PG_DSN is not set")
				}
				var err error
				if pool, err = pgxpool.New(ctx, dsn+"&pool_max_conns=128"); err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
			}
			suffix := time.Now().UnixNano() % 1e9
			var log twopc.Log = twopc.NewMemoryLog()
			switch v.log {
			case "bolt":
				l, err := twopc.OpenBoltLog(filepath.Join(b.TempDir(), "log.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				log = l
			case "postgres":
				table := fmt.Sprintf("twopc_bench_log_%d", suffix)
				defer pool.Exec(ctx, "DROP TABLE "+table)
				var err error
				if log, err = twopc.NewPostgresLog(ctx, pool, table, "bench", time.Minute); err != nil {
					b.Fatal(err)
				}
			}
			res := map[string]twopc.Resource{"a": instant("a"), "b": instant("b")}
			parts := func(string) []twopc.Participant { return []twopc.Participant{instant("a"), instant("b")} }
			if v.parts == "postgres" {
				pa, pb := mustPG(b, "a", pool), mustPG(b, "b", pool)
				res = map[string]twopc.Resource{"a": pa, "b": pb}
				table := fmt.Sprintf("twopc_bench_rows_%d", suffix)
				if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (txid text, part text)"); err != nil {
					b.Fatal(err)
				}
				defer pool.Exec(ctx, "DROP TABLE "+table)
				work := func(txid, part string) func(context.Context, pgx.Tx) error {
					return func(ctx context.Context, tx pgx.Tx) error {
						_, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES ($1, $2)", txid, part)
						return err
					}
				}
				parts = func(txid string) []twopc.Participant {
					return []twopc.Participant{pa.Participant(work(txid, "a")), pb.Participant(work(txid, "b"))}
				}
			}
			c, err := twopc.New(log, res)
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range 64 {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						id := fmt.Sprintf("b%d-%d", suffix, i)
						if out, err := c.Run(ctx, id, parts(id)...); out != twopc.Committed {
							b.Error(out, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
		})
	}
}
