package outboxprom_test

import (
	"context"
	"database/sql"
	"log"
	"net/http"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	"github.com/exprsn/ipcmesh/outbox/outboxprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A service exports its outbox's relay next to its worker's metrics, on
// its own registry.
func Example() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-shop", Stream: mesh.StreamConfig{Manage: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)
	db, err := sql.Open("sqlite", outbox.SQLiteDSN("shop.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	o, err := outbox.New(ctx, db, w, outbox.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer o.Close(ctx)
	go o.Run(ctx) //nolint:errcheck // it returns nil after Close

	reg := prometheus.NewRegistry()
	reg.MustRegister(outboxprom.NewCollector(o)) // and meshprom.NewCollector(w)
	http.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(":9090", nil))
}
