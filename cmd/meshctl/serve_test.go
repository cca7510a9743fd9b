package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var emitted = regexp.MustCompile(`^id (\S+) sequence (\d+)\n$`)

// waitFor waits until out contains want.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	if !assert.Eventually(t, func() bool { return strings.Contains(out.String(), want) }, testutil.DefaultWait, 5*time.Millisecond) {
		t.Fatalf("waiting for %q in %q", want, out.String())
	}
}

func TestServeEmitTail(t *testing.T) {
	b := startServe(t)
	url := b.natsURL()
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

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestStatsAfterTrafficWithTwoServices(t *testing.T) {
	b := startServe(t)
	url := b.natsURL()
	orders := connectWorker(t, url, "orders")
	billing := []*mesh.Worker{connectWorker(t, url, "billing"), connectWorker(t, url, "billing")}
	for _, w := range billing {
		_, err := w.On(context.Background(), "order:created", testutil.NewRecorder())
		require.NoError(t, err)
	}
	for range 5 {
		require.NoError(t, orders.Emit(context.Background(), "order:created", map[string]int{"total": 3}))
	}
	require.Eventually(t, func() bool { // a broadcast reaches every instance
		return billing[0].Stats().Handled == 5 && billing[1].Stats().Handled == 5
	}, testutil.DefaultWait, 5*time.Millisecond)

	code, body := get(t, b.httpURL+"/api/ipc/stats")
	require.Equal(t, http.StatusOK, code, body)
	var report struct {
		Time      time.Time `json:"time"`
		Namespace string    `json:"namespace"`
		Server    struct {
			Connections int
			InMsgs      int64 `json:"in_msgs"`
			OutMsgs     int64 `json:"out_msgs"`
			InBytes     int64 `json:"in_bytes"`
			OutBytes    int64 `json:"out_bytes"`
		} `json:"server"`
		Stream struct {
			Events, Bytes uint64
			FirstSeq      uint64    `json:"first_seq"`
			LastSeq       uint64    `json:"last_seq"`
			FirstTime     time.Time `json:"first_time"`
			LastTime      time.Time `json:"last_time"`
		} `json:"stream"`
		DeadLetters struct{ Count, Bytes uint64 } `json:"dead_letters"`
		Services    map[string]struct {
			Emitted, Received, Handled, Failed uint64
			Instances                          []struct{ Instance, Service string }
		} `json:"services"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &report))
	require.WithinDuration(t, time.Now(), report.Time, time.Minute)
	require.Equal(t, "ipc", report.Namespace)
	require.GreaterOrEqual(t, report.Server.Connections, 3, "three workers and the bridge")
	require.Positive(t, report.Server.InMsgs)
	require.Positive(t, report.Server.OutMsgs)
	require.Positive(t, report.Server.InBytes)
	require.Positive(t, report.Server.OutBytes)
	require.Equal(t, uint64(5), report.Stream.Events)
	require.Positive(t, report.Stream.Bytes)
	require.Equal(t, uint64(1), report.Stream.FirstSeq)
	require.Equal(t, uint64(5), report.Stream.LastSeq)
	require.False(t, report.Stream.FirstTime.IsZero())
	require.False(t, report.Stream.LastTime.Before(report.Stream.FirstTime))
	require.Zero(t, report.DeadLetters.Count)
	require.Len(t, report.Services, 2)
	require.Equal(t, uint64(5), report.Services["orders"].Emitted)
	require.Len(t, report.Services["orders"].Instances, 1)
	bill := report.Services["billing"]
	require.Equal(t, uint64(10), bill.Received)
	require.Equal(t, uint64(10), bill.Handled)
	require.Zero(t, bill.Failed)
	require.Len(t, bill.Instances, 2)

	// The table, from the bridge and gathered over NATS.
	table := succeed(t, "stats", "--http", b.httpURL)
	require.Contains(t, table, "MESH_ipc: 5 events")
	require.Regexp(t, `(?m)^billing +2 +0 +10 +10 +0 +0 +0 +0 +0$`, table)
	require.Regexp(t, `(?m)^orders +1 +5 +0 +0 +0 +0 +0 +0 +0$`, table)
	var direct statsReport
	require.NoError(t, json.Unmarshal([]byte(succeed(t, "stats", "--json", "--server", url)), &direct))
	require.Equal(t, "account", direct.Server.Source)
	require.Equal(t, uint64(5), direct.Stream.Events)
	require.Equal(t, uint64(10), direct.Services["billing"].Handled)
	require.Equal(t, uint64(5), direct.Services["orders"].Emitted)

	code, body = get(t, b.httpURL+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get(t, b.httpURL+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	for _, want := range []string{
		`ipcmesh_stats_up{namespace="ipc"} 1`,
		`ipcmesh_stream_events{namespace="ipc"} 5`,
		`ipcmesh_dead_letters{namespace="ipc"} 0`,
		`ipcmesh_service_instances{namespace="ipc",service="billing"} 2`,
		`ipcmesh_service_handled_total{namespace="ipc",service="billing"} 10`,
		`ipcmesh_service_emitted_total{namespace="ipc",service="orders"} 5`,
		"ipcmesh_server_connections{namespace=\"ipc\"}",
		"go_goroutines",
	} {
		require.Contains(t, body, want)
	}
}

func TestHealthzIsUnavailableWithoutTheServer(t *testing.T) {
	b, err := startBridge(context.Background(), bridgeConfig{
		Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", StoreDir: t.TempDir(), Namespace: "ipc", MaxAge: time.Hour,
	})
	require.NoError(t, err)
	code, _ := get(t, b.httpURL+"/healthz")
	require.Equal(t, http.StatusOK, code)
	b.ns.Shutdown()
	code, body := get(t, b.httpURL+"/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.NoError(t, b.close(context.Background()))
}

// TestHealthzIsUnavailableWithoutTheBridgeConnection: a bridge whose own
// connection is gone gathers no stats, and says so.
func TestHealthzIsUnavailableWithoutTheBridgeConnection(t *testing.T) {
	b, err := startBridge(context.Background(), bridgeConfig{
		Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", StoreDir: t.TempDir(), Namespace: "ipc", MaxAge: time.Hour,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.close(context.Background()) })
	b.nc.Close()
	code, body := get(t, b.httpURL+"/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "connection to the server is closed")
}
