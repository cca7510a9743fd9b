package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// TestServeWebSocketBrowser: with --spec, --auth and --websocket, a
// browser user of the spec reads its feed over WebSocket, and is refused
// over a plain TCP connection.
func TestServeWebSocketBrowser(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "mesh.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"services": [{"name": "exprsn-herald"}],
		"browsers": [{"name": "browser-u42", "feeds": [{"event": "user:u42:>"}]}]}`), 0o600))
	b := startServe(t, "--spec", spec, "--auth", filepath.Join(dir, "creds"), "--websocket", "127.0.0.1:0")
	require.True(t, strings.HasPrefix(b.WebSocketURL(), "ws://127.0.0.1:"), b.WebSocketURL())
	password := func(user string) string {
		env, err := os.ReadFile(filepath.Join(dir, "creds", bridge.CredentialsFile))
		require.NoError(t, err)
		for line := range strings.Lines(string(env)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), permissions.PasswordVar(user)+"="); ok {
				return v
			}
		}
		t.Fatalf("no password for %s", user)
		return ""
	}
	browser := nats.UserInfo("browser-u42", password("browser-u42"))

	_, err := nats.Connect(b.NATSURL(), browser, nats.MaxReconnects(0))
	require.Error(t, err, "a browser user may connect over WebSocket only")

	nc, err := nats.Connect(b.WebSocketURL(), browser)
	require.NoError(t, err)
	defer nc.Close()
	sub, err := nc.SubscribeSync("ipc.all.user.u42.>")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	herald, err := nats.Connect(b.NATSURL(), nats.UserInfo("exprsn-herald", password("exprsn-herald")))
	require.NoError(t, err)
	defer herald.Close()
	require.NoError(t, herald.Publish("ipc.all.user.u42.notification", []byte(`{}`)))
	msg, err := sub.NextMsg(testutil.DefaultWait)
	require.NoError(t, err)
	require.Equal(t, "ipc.all.user.u42.notification", msg.Subject)
}

// TestServeWebSocketNeedsLoopbackWithoutTLS: a WebSocket listener
// without TLS is refused off loopback, before anything starts.
func TestServeWebSocketNeedsLoopbackWithoutTLS(t *testing.T) {
	r := meshctl(t, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store", t.TempDir(), "--websocket", "0.0.0.0:0")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "without TLS")
}
