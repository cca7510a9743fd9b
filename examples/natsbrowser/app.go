package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// web holds the page and its script.
//
//go:embed web
var web embed.FS

const (
	// ns is the example's namespace.
	ns = subjects.DefaultNamespace
	// service is the service that emits the events.
	service = "exprsn-timeline"
	// user is the person the page's browser user stands for, and other
	// one whose events it must never see.
	user, other = "u42", "u7"
)

// browser is the browser's NATS user: new posts, and u42's own events.
var browser = permissions.Browser{Name: "browser-" + user, Feeds: []permissions.Feed{
	{Event: "post:created"},
	{Event: "user:" + user + ":>"},
}}

// pageConfig is what the page reads from /config.json: where and as whom
// to connect, the subjects of its feeds, and a subject it may not read.
type pageConfig struct {
	URL      string            `json:"url"`
	User     string            `json:"user"`
	Password string            `json:"password"`
	Feeds    map[string]string `json:"feeds"`
	Peek     string            `json:"peek"`
}

// app is the example running: an embedded nats-server with a WebSocket
// listener whose users are the emitting service and the browser, the
// service's worker, and the HTTP server of the page.
type app struct {
	ns      *server.Server
	worker  *mesh.Worker
	http    *http.Server
	addr    string // the page's host:port
	page    pageConfig
	emitted atomic.Int64
}

// start starts the example with its page on listener l, serving natsJS (the
// nats.ws ESM bundle) as /nats.js, storing in dir.
func start(ctx context.Context, l net.Listener, natsJS, dir string) (*app, error) {
	if _, err := os.Stat(natsJS); err != nil {
		return nil, fmt.Errorf("the NATS client for the page: %w (run `npm ci --prefix examples/natsbrowser`)", err)
	}
	a := &app{addr: l.Addr().String()}
	passwords := map[string]string{service: rand.Text(), browser.Name: rand.Text()}
	if err := a.startNATS(dir, passwords); err != nil {
		return nil, err
	}
	var err error
	a.worker, err = mesh.Connect(ctx, mesh.Config{
		Servers:     []string{a.ns.ClientURL()},
		Service:     service,
		Stream:      mesh.StreamConfig{Disable: true},
		NATSOptions: []nats.Option{nats.UserInfo(service, passwords[service])},
	})
	if err != nil {
		a.ns.Shutdown()
		return nil, err
	}
	a.page = pageConfig{URL: a.ns.WebsocketURL(), User: browser.Name, Password: passwords[browser.Name], Feeds: map[string]string{}}
	for _, f := range browser.Feeds {
		a.page.Feeds[f.Event], _ = subjects.Filter(ns, subjects.Broadcast, f.Event)
	}
	a.page.Peek, _ = subjects.Filter(ns, subjects.Broadcast, "user:"+other+":>")
	a.http = &http.Server{Handler: a.routes(natsJS), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.http.Serve(l) }()
	return a, nil
}

// startNATS starts the embedded server: WebSocket on a free loopback port,
// accepting pages of the example's origin only, and the two users with
// their least privilege.
func (a *app) startNATS(dir string, passwords map[string]string) error {
	p, err := permissions.ForService(ns, permissions.Service{Name: service})
	if err != nil {
		return err
	}
	b, err := permissions.ForBrowser(ns, browser)
	if err != nil {
		return err
	}
	opts := embedded.Options(dir)
	opts.JetStream = false
	opts.Users = []*server.User{
		permissions.User{Name: service, Permissions: p}.Server(passwords[service]),
		b.Server(passwords[b.Name]),
	}
	origin := embedded.WebSocket{AllowedOrigins: []string{"http://" + a.addr}}
	if err := embedded.EnableWebSocket(opts, origin); err != nil {
		return err
	}
	a.ns, err = embedded.Start(opts)
	return err
}

// routes serves the page, its script, the NATS client and the page's
// configuration.
func (a *app) routes(natsJS string) http.Handler {
	mux := http.NewServeMux()
	pages, _ := fs.Sub(web, "web")
	mux.Handle("GET /", http.FileServerFS(pages))
	mux.HandleFunc("GET /nats.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, natsJS)
	})
	// The page's credentials: a stand-in for what a real application
	// hands a signed-in user (a JWT with permissions.User.JWT, say).
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(a.page)
	})
	return mux
}

// emit sends one round of events: a new post, a notification for the
// page's user and one for another user, which the page never receives.
func (a *app) emit(ctx context.Context) error {
	n := a.emitted.Add(1)
	return errors.Join(
		a.worker.Emit(ctx, "post:created", map[string]any{"n": n, "text": fmt.Sprintf("post %d", n)}),
		a.worker.Emit(ctx, "user:"+user+":notification", map[string]any{"n": n, "text": fmt.Sprintf("for %s, %d", user, n)}),
		a.worker.Emit(ctx, "user:"+other+":notification", map[string]any{"n": n, "text": fmt.Sprintf("for %s, %d", other, n)}),
	)
}

// close stops the HTTP server, the worker and the NATS server.
func (a *app) close(ctx context.Context) error {
	err := errors.Join(a.http.Shutdown(ctx), a.worker.Close(ctx))
	a.ns.Shutdown()
	return err
}
