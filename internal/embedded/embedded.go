// Package embedded runs a nats-server with JetStream inside the process, for
// the demo, tests and the bridge, with a WebSocket listener for browsers
// when asked (EnableWebSocket).
package embedded

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ReadyTimeout bounds how long Start waits for the server to accept
// connections. It is generous because CI machines are loaded.
const ReadyTimeout = 20 * time.Second

// Options returns the options of a JetStream server listening on a random
// loopback port, storing in dir, without logging or signal handling.
func Options(dir string) *server.Options {
	return &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	}
}

// Start starts a server with opts and waits until it accepts connections.
// A fixed port that is taken is an error at once (the server itself would
// only fail to become ready).
func Start(opts *server.Options) (*server.Server, error) {
	if opts.Port > 0 {
		addr := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("embedded nats-server: cannot listen on %s: %w", addr, err)
		}
		l.Close()
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(ReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded nats-server: not ready within %s", ReadyTimeout)
	}
	return ns, nil
}

// Port returns the client port a started server listens on.
func Port(ns *server.Server) int {
	return ns.Addr().(*net.TCPAddr).Port
}
