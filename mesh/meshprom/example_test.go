package meshprom_test

import (
	"context"
	"log"
	"net/http"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A service times its handlers with the latency middleware, exports its
// worker's counts with a collector, and serves both on its own registry.
func Example() {
	ctx := context.Background()
	latency := meshprom.NewLatency()
	cfg := mesh.Config{
		Service:    "exprsn-herald",
		Middleware: []mesh.Middleware{latency.Middleware()},
	}
	w, err := mesh.Connect(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(latency, meshprom.NewCollector(w))
	http.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe(":9090", nil))
}
