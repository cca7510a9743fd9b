package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/internal/operator/dashboard"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/internal/operator/statstest"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

var emitted = regexp.MustCompile(`^id (\S+) sequence (\d+)\n$`)

func TestServeEmitTail(t *testing.T) {
	b := startServe(t)
	url := b.NATSURL()
	lines := start(nil, "tail", "--server", url)
	jsonLines := start(nil, "tail", "user:*", "--json", "--server", url)
	waitFor(t, lines.stderr, "listening on ipc.*.>")
	waitFor(t, jsonLines.stderr, "listening on ipc.*.user.*")

	out := succeed(t, "emit", "post:created", `{"id": "p1"}`, "--server", url)
	m := emitted.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	postID := m[1]
	require.Equal(t, "1", m[2], "first event of a new store")

	r := meshctlWith(t, withStdin(`{"user": "ada"}`), "emit", "user:login", "--to", "exprsn-auth", "--as", "exprsn-web", "--server", url)
	require.Equal(t, 0, r.code, r.stderr)
	m = emitted.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	loginID := m[1]
	require.Equal(t, "2", m[2])

	waitFor(t, lines.stdout, "id="+loginID)
	tail := lines.stop(t)
	require.Equal(t, 0, tail.code, tail.stderr)
	require.Regexp(t, `(?m)^\S+  meshctl -> all  post:created  id=`+postID+`  \{"id":"p1"\}$`, tail.stdout)
	require.Regexp(t, `(?m)^\S+  exprsn-web -> exprsn-auth  user:login  id=`+loginID+`  \{"user":"ada"\}$`, tail.stdout)

	waitFor(t, jsonLines.stdout, loginID)
	tail = jsonLines.stop(t)
	require.Equal(t, 0, tail.code, tail.stderr)
	require.NotContains(t, tail.stdout, postID, "the pattern filters")
	var line struct {
		Subject, Target string
		Event           struct{ ID, Source, Type string }
	}
	require.NoError(t, json.Unmarshal([]byte(tail.stdout), &line))
	require.Equal(t, "ipc.exprsn-auth.user.login", line.Subject)
	require.Equal(t, "exprsn-auth", line.Target)
	require.Equal(t, loginID, line.Event.ID)
	require.Equal(t, "exprsn-web", line.Event.Source)
	require.Equal(t, "user:login", line.Event.Type)
}

// TestStatsAfterTrafficWithTwoServices: meshctl stats shows the traffic,
// from the bridge meshctl serve runs and gathered over NATS. What the
// bridge serves over HTTP is tested with package bridge.
func TestStatsAfterTrafficWithTwoServices(t *testing.T) {
	b := startServe(t)
	url := b.NATSURL()
	statstest.Traffic(t, url)

	// The table, from the bridge and gathered over NATS.
	table := succeed(t, "stats", "--http", b.HTTPURL())
	require.Contains(t, table, "MESH_ipc: 5 events")
	require.Regexp(t, `(?m)^billing +2 +0 +10 +10 +0 +0 +0 +0 +0$`, table)
	require.Regexp(t, `(?m)^orders +1 +5 +0 +0 +0 +0 +0 +0 +0$`, table)
	var direct stats.Report
	require.NoError(t, json.Unmarshal([]byte(succeed(t, "stats", "--json", "--server", url)), &direct))
	require.Equal(t, "account", direct.Server.Source)
	require.Equal(t, uint64(5), direct.Stream.Events)
	require.Equal(t, uint64(10), direct.Services["billing"].Handled)
	require.Equal(t, uint64(5), direct.Services["orders"].Emitted)
}

// TestServeDashboardActionsFlags: --dashboard-actions with
// --dashboard-token reach the dashboard: an action without the token is
// refused, with it accepted; serve prints the dashboard's URL and mode.
// The dashboard itself is tested with package dashboard, in a browser with
// package bridge (make browser).
func TestServeDashboardActionsFlags(t *testing.T) {
	ready := make(chan *bridge.Bridge, 1)
	r := start(func(a *app) { a.served = func(b *bridge.Bridge) { ready <- b } },
		"serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store", t.TempDir(),
		"--dashboard-actions", "--dashboard-token", "tok-123")
	var b *bridge.Bridge
	select {
	case b = <-ready:
	case <-time.After(testutil.DefaultWait):
		t.Fatalf("serve not ready: %s", r.stderr.String())
	}
	purge := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.HTTPURL()+"/api/ipc/deadletters/purge", nil)
		require.NoError(t, err)
		req.Header.Set(dashboard.ActionHeader, "1")
		if token != "" {
			req.Header.Set(dashboard.TokenHeader, token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := purge("")
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "--dashboard-token")
	code, body = purge("tok-123")
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"purged": 0}`, body)

	res := r.stop(t)
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stdout, "meshctl serve: dashboard on "+b.HTTPURL()+"/ (actions: token)\n")
}

func TestServeDashboardTokenNeedsActions(t *testing.T) {
	r := meshctl(t, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store", t.TempDir(), "--dashboard-token", "x")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "--dashboard-token needs --dashboard-actions")
}
