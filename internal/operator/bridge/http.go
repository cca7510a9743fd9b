package bridge

import (
	"context"
	"fmt"
	"net/http"

	"github.com/exprsn/ipcmesh/internal/operator/dashboard"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StatsPath is where the bridge serves its stats report.
const StatsPath = "/api/ipc/stats"

// handler serves the bridge's HTTP API.
func (b *Bridge) handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), newMeshCollector(b.cfg.Namespace, b.gather))
	mux := http.NewServeMux()
	b.dash.Register(mux)
	mux.HandleFunc("GET "+StatsPath, b.serveStats)
	mux.HandleFunc("GET /healthz", b.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// serveStats answers GET /api/ipc/stats.
func (b *Bridge) serveStats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), stats.Timeout)
	defer cancel()
	report, err := b.gather(ctx)
	if err != nil {
		dashboard.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	dashboard.WriteJSON(w, http.StatusOK, report)
}

// serveHealth answers GET /healthz: 200 when the server accepts
// connections, JetStream is ready and the bridge's own connection, over
// which it gathers stats, is up; 503 otherwise, saying which.
func (b *Bridge) serveHealth(w http.ResponseWriter, _ *http.Request) {
	status := b.ns.Healthz(&server.HealthzOptions{})
	var msg string
	switch {
	case !b.ns.Running():
		msg = "the NATS server is not running"
	case status.Status != "ok":
		msg = status.Error
	case b.nc.IsClosed():
		msg = fmt.Sprintf("the bridge's connection to the server is closed: %v", b.nc.LastError())
	case !b.nc.IsConnected():
		msg = "the bridge's connection to the server is down, reconnecting"
	default:
		dashboard.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	dashboard.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": msg})
}
