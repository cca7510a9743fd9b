package embedded

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
)

// WebSocket configures the WebSocket listener through which browsers
// connect (nats.ws). The zero value listens on a free loopback port
// without TLS and accepts any origin.
type WebSocket struct {
	// Host is the address to listen on. Default: "127.0.0.1".
	Host string
	// Port is the port to listen on; 0 picks a free one (read it back
	// with WebSocketPort). Default: 0.
	Port int
	// TLS is the listener's TLS configuration. It is required unless Host
	// is a loopback address ("localhost", 127.0.0.0/8, ::1): without TLS,
	// passwords and tokens cross the network in clear. Default: none.
	TLS *tls.Config
	// AllowedOrigins lists the origins ("https://app.example.com") whose
	// pages may connect; a browser sends its page's origin and the server
	// refuses the others. Default: any origin.
	AllowedOrigins []string
}

// EnableWebSocket turns on opts' WebSocket listener as ws says, refusing a
// listener without TLS on a host that is not a loopback address, and a
// negative port.
func EnableWebSocket(opts *server.Options, ws WebSocket) error {
	if ws.Host == "" {
		ws.Host = "127.0.0.1"
	}
	if ws.Port < 0 || ws.Port > 65535 {
		return fmt.Errorf("embedded nats-server: WebSocket port %d: want 0 (a free port) to 65535", ws.Port)
	}
	if ws.TLS == nil && !isLoopback(ws.Host) {
		return fmt.Errorf("embedded nats-server: WebSocket on %s without TLS: browsers' credentials would cross the network in clear; listen on a loopback address or give a TLS configuration", ws.Host)
	}
	port := ws.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Websocket = server.WebsocketOpts{
		Host:           ws.Host,
		Port:           port,
		NoTLS:          ws.TLS == nil,
		TLSConfig:      ws.TLS,
		AllowedOrigins: ws.AllowedOrigins,
	}
	return nil
}

// isLoopback reports whether host names only this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WebSocketPort returns the port the WebSocket listener of a server that
// Start started listens on, or an error if it has none (see
// EnableWebSocket). Browsers connect to ws://<host>:<port>, or wss://
// with TLS (server.Server.WebsocketURL).
func WebSocketPort(ns *server.Server) (int, error) {
	u, err := url.Parse(ns.WebsocketURL())
	if err != nil {
		return 0, fmt.Errorf("embedded nats-server: WebSocket URL: %w", err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port <= 0 {
		return 0, errors.New("embedded nats-server: no WebSocket listener (see EnableWebSocket)")
	}
	return port, nil
}
