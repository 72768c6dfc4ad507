package saga_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otlpgo/otlpgo/saga"
)

// BenchmarkSaga runs sagas of three steps (each step a no-op, so that the
// coordinator and its log are what is measured) from 64 goroutines, with
// the in-memory log, the bbolt log (every transition synced to disk,
// concurrent sagas' writes sharing commits) and the PostgreSQL log (each
// transition a committed statement, 64 connections). One op is one saga.
func BenchmarkSaga(b *testing.B) {
	noop := func(context.Context, string, []byte) error { return nil }
	def := saga.Definition{Name: "s", Steps: []saga.Step{
		{Name: "a", Action: noop, Compensate: noop},
		{Name: "b", Action: noop, Compensate: noop},
		{Name: "c", Action: noop, Compensate: noop},
	}}
	for _, logName := range []string{"memory", "bolt", "postgres"} {
		b.Run(fmt.Sprintf("log=%s/concurrency=64", logName), func(b *testing.B) {
			var log saga.Log = saga.NewMemoryLog()
			switch logName {
			case "bolt":
				l, err := saga.OpenBoltLog(filepath.Join(b.TempDir(), "log.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				log = l
			case "postgres":
				dsn := os.Getenv("OTLPGO_PG_DSN")
				if dsn == "" {
					b.Skip("OTLPGO_PG_DSN is not set")
				}
				pool, err := pgxpool.New(context.Background(), dsn+"&pool_max_conns=64")
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				table := fmt.Sprintf("saga_bench_%d", time.Now().UnixNano()%1e9)
				defer pool.Exec(context.Background(), "DROP TABLE "+table)
				if log, err = saga.NewPostgresLog(context.Background(), pool, table, "bench", time.Minute); err != nil {
					b.Fatal(err)
				}
			}
			c, err := saga.New(log, []saga.Definition{def})
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
						if out, err := c.Run(context.Background(), "s", fmt.Sprint(i), nil); out != saga.Completed {
							b.Error(out, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sagas/s")
		})
	}
}
