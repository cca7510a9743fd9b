package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults and bounds of Config and of the API's lists.
const (
	// DefaultInterval is how often the stats stream pushes a report.
	DefaultInterval = time.Second
	// DefaultMaxStreams bounds the open stats streams, and separately the
	// open events streams.
	DefaultMaxStreams = 100
	// DefaultListLimit is how many dead letters or schedules a list
	// returns without ?limit; MaxListLimit is the most it returns.
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

//go:embed static
var static embed.FS

// Config configures a Dashboard. The zero value of every field but Worker
// and Gather means its default.
type Config struct {
	// Worker is the bridge's own worker. Its connection feeds the events
	// stream, and its JetStream handle reads and changes the dead letters
	// and schedules. It should use the namespace's event stream
	// (Worker.Durable), for the events' ids and resume. Required.
	Worker *mesh.Worker
	// Gather returns the stats report the stats stream pushes. Required.
	Gather func(context.Context) (*stats.Report, error)
	// Actions allows the actions. Default: none allowed.
	Actions Actions
	// Interval is the time between the end of a gathering and the start of
	// the next, while a stats stream is open. Default: DefaultInterval.
	Interval time.Duration
	// MaxStreams bounds the open stats streams, and separately the open
	// events streams; past it a request gets 503. Default:
	// DefaultMaxStreams.
	MaxStreams int
}

// Dashboard serves the page and its API. Create it with New, mount it with
// Register, and Close it before shutting down the HTTP server, which does
// not end open streams.
type Dashboard struct {
	cfg     Config
	js      jetstream.JetStream
	ns      string
	letters *deadletter.Queue
	events  *events
	feed    *feed
}

// New returns a dashboard of cfg.Worker's namespace.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Worker == nil || cfg.Gather == nil {
		return nil, errors.New("dashboard: Config.Worker and Config.Gather are required")
	}
	js := cfg.Worker.JetStream()
	if js == nil {
		return nil, errors.New("dashboard: the worker does not use JetStream (StreamConfig.Disable)")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	ns := cfg.Worker.Namespace()
	return &Dashboard{
		cfg: cfg, js: js, ns: ns,
		letters: deadletter.New(js, ns),
		events:  &events{worker: cfg.Worker, max: cfg.MaxStreams},
		feed:    newFeed(cfg.Gather, cfg.Interval, cfg.MaxStreams),
	}, nil
}

// Register mounts the page and the API on mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	assets, _ := fs.Sub(static, "static") // static holds "static": no error
	files := http.FileServerFS(assets)
	mux.Handle("GET /", securityHeaders(files))
	mux.HandleFunc("GET /api/ipc/dashboard", d.serveInfo)
	mux.HandleFunc("GET /api/ipc/stats/stream", d.serveStatsStream)
	mux.HandleFunc("GET /api/ipc/events", d.serveEvents)
	mux.HandleFunc("GET /api/ipc/deadletters", d.serveLetters)
	mux.HandleFunc("GET /api/ipc/deadletters/{id}", d.serveLetter)
	mux.HandleFunc("POST /api/ipc/deadletters/{id}/redrive", d.guard(d.redrive))
	mux.HandleFunc("POST /api/ipc/deadletters/purge", d.guard(d.purge))
	mux.HandleFunc("GET /api/ipc/schedules", d.serveSchedules)
	mux.HandleFunc("POST /api/ipc/schedules/{key}/cancel", d.guard(d.cancelSchedule))
}

// Close ends every open stream (the events streams with edge's
// DroppedEvent of reason "shutdown") and waits for their handlers to
// return, or until ctx ends. Further stream requests get 503.
func (d *Dashboard) Close(ctx context.Context) error {
	d.feed.close()
	return errors.Join(d.events.close(ctx), d.feed.wait(ctx))
}

// securityHeaders sets the page's headers: it loads nothing but the
// bridge's own files, and may not be framed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "+
			"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// serveInfo answers GET /api/ipc/dashboard: the namespace, and the mode of
// the actions, which the page uses to offer them or not.
func (d *Dashboard) serveInfo(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"namespace": d.ns, "actions": d.cfg.Actions.Mode()})
}

// listLimit reads ?limit: DefaultListLimit when absent, at most
// MaxListLimit.
func listLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, fmt.Errorf("dashboard: limit %q: want a number from 1 to %d", s, MaxListLimit)
	}
	return n, nil
}

// WriteJSON answers with code and v as indented JSON.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers with code and {"error": err}.
func writeError(w http.ResponseWriter, code int, err error) {
	WriteJSON(w, code, map[string]string{"error": err.Error()})
}
