// Command browser shows the mesh's events reaching browsers as server-sent
// events (package edge): timeline pushes every new post to every browser,
// and spark pushes presence updates to one user's browser only.
//
//	go run ./examples/browser
//
// then open http://127.0.0.1:8080/timeline/ and
// http://127.0.0.1:8080/spark/?user=ana in a browser, and make events:
//
//	curl -d '{"author":"ana","text":"hello"}' 127.0.0.1:8080/timeline/posts
//	curl -d '{"for":"ana","user":"ben","online":true}' 127.0.0.1:8080/spark/presence
//
// Every timeline page shows the post; only ana's spark page shows that ben
// is online. Stop the network of a page for a while (the browser's
// developer tools), post meanwhile, and let it reconnect: EventSource
// sends the last id it saw and the page gets what it missed, from the
// event stream. The user of a spark page is its "user" query parameter or
// cookie, which anyone can set: a stand-in for real authentication, for
// the demo only.
//
// Without -nats it runs an embedded NATS server with JetStream in a
// temporary directory; the workers create the namespace's streams.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
)

// closeTimeout bounds the clean stop.
const closeTimeout = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "HTTP address to serve the pages on")
	natsURL := flag.String("nats", "", "NATS server URL with JetStream (default: an embedded server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *natsURL); err != nil {
		log.Fatal("browser: ", err)
	}
}

func run(ctx context.Context, addr, natsURL string) (err error) {
	if natsURL == "" {
		dir, err := os.MkdirTemp("", "ipcmesh-browser-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ns, err := embedded.Start(embedded.Options(dir))
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
	}
	workers := map[string]*mesh.Worker{}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		for _, w := range workers {
			err = errors.Join(err, w.Close(cctx))
		}
	}()
	for _, name := range []string{timeline.Name, spark.Name} {
		w, err := mesh.Connect(ctx, mesh.Config{Service: name, Servers: []string{natsURL}, Stream: mesh.StreamConfig{Manage: true}})
		if err != nil {
			return err
		}
		workers[name] = w
	}
	a, err := newApp(ctx, workers[timeline.Name], workers[spark.Name])
	if err != nil {
		return err
	}
	return serve(ctx, addr, a)
}

// serve serves a on addr until ctx ends, then ends the streams and stops.
func serve(ctx context.Context, addr string, a *app) error {
	srv := &http.Server{Addr: addr, Handler: a, ReadHeaderTimeout: 5 * time.Second}
	errs := make(chan error, 1)
	go func() { errs <- srv.ListenAndServe() }()
	fmt.Printf("open http://%s/timeline/ and http://%s/spark/?user=ana\n", addr, addr)
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	// The streams first: http.Server.Shutdown waits for open requests.
	return errors.Join(a.Close(cctx), srv.Shutdown(cctx))
}
