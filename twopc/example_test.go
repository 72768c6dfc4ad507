package twopc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otlpgo/otlpgo/twopc"
)

// memoryDB is a participant and resource held in memory, for the
// example; NewPostgres gives real ones.
type memoryDB struct {
	name     string
	fail     bool
	prepared map[string]bool
	rows     []string
}

func (m *memoryDB) Name() string { return m.name }
func (m *memoryDB) Prepare(_ context.Context, txid string) error {
	if m.fail {
		return errors.New(m.name + ": constraint violated")
	}
	m.prepared[txid] = true
	return nil
}
func (m *memoryDB) Commit(_ context.Context, txid string) error {
	if m.prepared[txid] {
		m.rows = append(m.rows, txid)
		delete(m.prepared, txid)
	}
	return nil
}
func (m *memoryDB) Abort(_ context.Context, txid string) error {
	delete(m.prepared, txid)
	return nil
}

// Both participants commit, or neither does.
func Example() {
	ctx := context.Background()
	orders := &memoryDB{name: "orders", prepared: map[string]bool{}}
	ledger := &memoryDB{name: "ledger", prepared: map[string]bool{}}
	c, err := twopc.New(twopc.NewMemoryLog(), map[string]twopc.Resource{"orders": orders, "ledger": ledger})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Run(ctx, "tx-1", orders, ledger))
	ledger.fail = true
	fmt.Println(c.Run(ctx, "tx-2", orders, ledger))
	fmt.Println(orders.rows, ledger.rows, len(orders.prepared))
	// Output:
	// committed <nil>
	// aborted prepare ledger: ledger: constraint violated
	// [tx-1] [tx-1] 0
}

// Recover, at start, finishes what a crash left in doubt.
func ExampleCoordinator_Recover() {
	c, err := twopc.New(twopc.NewMemoryLog(), map[string]twopc.Resource{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Recover(context.Background()))
	// Output:
	// 0 <nil>
}

// A PostgreSQL participant prepares its work as a prepared transaction.
// This example only compiles: it needs a PostgreSQL server with
// max_prepared_transactions > 0 (scripts/postgres.sh starts one).
func ExamplePostgres() {
	run := func(ctx context.Context, pool *pgxpool.Pool, log twopc.Log) error {
		orders, err := twopc.NewPostgres("orders", pool)
		if err != nil {
			return err
		}
		c, err := twopc.New(log, map[string]twopc.Resource{"orders": orders})
		if err != nil {
			return err
		}
		if _, err := c.Recover(ctx); err != nil { // first, finish what a crash left
			return err
		}
		_, err = c.Run(ctx, "order-42", orders.Participant(func(ctx context.Context, tx pgx.Tx) error {
			if first, err := twopc.Barrier(ctx, tx, "order-42", "insert"); err != nil || !first {
				return err // done before: nothing to do again
			}
			_, err := tx.Exec(ctx, "INSERT INTO orders (id) VALUES ('order-42')")
			return err
		}))
		return err
	}
	_ = run
}
