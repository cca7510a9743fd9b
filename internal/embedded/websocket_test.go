package embedded_test

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/nats-io/nats.go"
)

// TestWebSocket starts a server with a WebSocket listener on a free
// loopback port, reads the port back and connects to it with nats.go's
// WebSocket transport.
func TestWebSocket(t *testing.T) {
	opts := embedded.Options(t.TempDir())
	if err := embedded.EnableWebSocket(opts, embedded.WebSocket{}); err != nil {
		t.Fatal(err)
	}
	ns, err := embedded.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	port, err := embedded.WebSocketPort(ns)
	if err != nil {
		t.Fatal(err)
	}
	if port == embedded.Port(ns) {
		t.Fatalf("the WebSocket and client ports are both %d", port)
	}
	nc, err := nats.Connect(ns.WebsocketURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !strings.HasSuffix(nc.ConnectedUrl(), ":"+strconv.Itoa(port)) {
		t.Fatalf("connected to %s, want port %d", nc.ConnectedUrl(), port)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestWebSocketOptions(t *testing.T) {
	tests := []struct {
		name    string
		ws      embedded.WebSocket
		wantErr string
	}{
		{"loopback without TLS", embedded.WebSocket{Host: "127.0.0.1"}, ""},
		{"localhost", embedded.WebSocket{Host: "localhost", Port: 8443}, ""},
		{"IPv6 loopback", embedded.WebSocket{Host: "::1"}, ""},
		{"every interface without TLS", embedded.WebSocket{Host: "0.0.0.0"}, "without TLS"},
		{"a public name without TLS", embedded.WebSocket{Host: "nats.example.com"}, "without TLS"},
		{"every interface with TLS", embedded.WebSocket{Host: "0.0.0.0", TLS: &tls.Config{MinVersion: tls.VersionTLS12}}, ""},
		{"negative port", embedded.WebSocket{Port: -1}, "port -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := embedded.Options(t.TempDir())
			err := embedded.EnableWebSocket(opts, tc.ws)
			if tc.wantErr == "" {
				if err != nil || opts.Websocket.Port == 0 || opts.Websocket.NoTLS != (tc.ws.TLS == nil) {
					t.Fatalf("EnableWebSocket: %v, options %+v", err, opts.Websocket)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("EnableWebSocket: %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestWebSocketPortWithoutListener(t *testing.T) {
	ns, err := embedded.Start(embedded.Options(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if _, err := embedded.WebSocketPort(ns); err == nil {
		t.Fatal("WebSocketPort of a server without WebSocket succeeded")
	}
}
