// Command natsbrowser shows a page reading the mesh straight from NATS
// over WebSocket, with the NATS JavaScript client (nats.ws) and a browser
// user of package permissions: it may read new posts and its own user's
// events, publish nothing, and connect over WebSocket only.
//
//	npm ci --prefix examples/natsbrowser
//	go run ./examples/natsbrowser
//
// then open http://127.0.0.1:8090/. Every two seconds the service
// exprsn-timeline emits a post, a notification for u42 (the page's user)
// and one for u7; the page shows the first two. Its "Peek" button
// subscribes to u7's events, and nats-server refuses it. The page loads
// the client from /nats.js, the nats.ws package's ESM bundle in
// node_modules, which this server serves: nothing comes from a CDN.
//
// The embedded server listens for WebSocket on a free loopback port,
// without TLS (loopback only) and for pages of this server's origin only.
// The page's credentials come from /config.json, a stand-in for a real
// login: see docs/security.md for the browser role.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "HTTP address to serve the page on")
	natsJS := flag.String("nats-js", "examples/natsbrowser/node_modules/nats.ws/esm/nats.js", "the nats.ws ESM bundle the page loads")
	every := flag.Duration("every", 2*time.Second, "how often the service emits")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *natsJS, *every); err != nil {
		log.Fatal("natsbrowser: ", err)
	}
}

func run(ctx context.Context, addr, natsJS string, every time.Duration) error {
	dir, err := os.MkdirTemp("", "ipcmesh-natsbrowser-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a, err := start(ctx, l, natsJS, dir)
	if err != nil {
		l.Close()
		return err
	}
	log.Printf("natsbrowser: open http://%s/ (NATS WebSocket at %s)", a.addr, a.page.URL)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := a.emit(ctx); err != nil {
				log.Print("natsbrowser: emit: ", err)
			}
		case <-ctx.Done():
			closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return a.close(closeCtx)
		}
	}
}
