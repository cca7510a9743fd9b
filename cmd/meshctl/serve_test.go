package main

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/stats"
	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/statstest"
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
