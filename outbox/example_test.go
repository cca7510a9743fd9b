package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// An order and its order:placed event are written in one transaction; the
// relay publishes the event once the transaction commits.
func Example() {
	dir, err := os.MkdirTemp("", "outbox-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	// A NATS server inside the process, for the example: use yours.
	ns, err := embedded.Start(embedded.Options(filepath.Join(dir, "nats")))
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown()

	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-shop", Servers: []string{ns.ClientURL()},
		Stream: mesh.StreamConfig{Manage: true}})
	if err != nil {
		panic(err)
	}
	defer w.Close(ctx)
	placed := make(chan *mesh.Event, 1)
	if _, err := w.On(ctx, "order:placed", mesh.HandlerFunc(func(_ context.Context, ev *mesh.Event) error {
		placed <- ev
		return nil
	})); err != nil {
		panic(err)
	}

	// WAL, a busy timeout and BEGIN IMMEDIATE: the relay and the
	// application write the same file.
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(dir, "shop.db")))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER)"); err != nil {
		panic(err)
	}

	o, err := outbox.New(ctx, db, w, outbox.Config{})
	if err != nil {
		panic(err)
	}
	defer o.Close(ctx)
	go o.Run(ctx) //nolint:errcheck // it returns nil after Close

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders VALUES (?, ?)", "o-1", 4200); err != nil {
		panic(err)
	}
	if err := o.Emit(ctx, tx, "order:placed", map[string]any{"id": "o-1", "total": 4200}); err != nil {
		panic(err)
	}
	if err := o.Commit(tx); err != nil { // commits, and wakes the relay
		panic(err)
	}

	select {
	case ev := <-placed:
		fmt.Println(ev.Type, "from", ev.Source+":", string(ev.Data))
	case <-time.After(10 * time.Second):
		fmt.Println("no event")
	}
	// Output: order:placed from exprsn-shop: {"id":"o-1","total":4200}
}
