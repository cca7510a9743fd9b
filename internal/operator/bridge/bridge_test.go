package bridge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/statstest"
	"github.com/stretchr/testify/require"
)

// start starts a bridge on free ports with its store in a temporary
// directory, for namespace ipc.
func start(t *testing.T) *Bridge {
	t.Helper()
	b, err := Start(context.Background(), Config{
		Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", StoreDir: t.TempDir(), Namespace: "ipc", MaxAge: time.Hour,
	})
	require.NoError(t, err)
	return b
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

// TestAPIAfterTrafficWithTwoServices: the stats report, health and metrics
// the bridge serves over HTTP count the traffic.
func TestAPIAfterTrafficWithTwoServices(t *testing.T) {
	b := start(t)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	statstest.Traffic(t, b.NATSURL())

	code, body := get(t, b.HTTPURL()+"/api/ipc/stats")
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

	code, body = get(t, b.HTTPURL()+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get(t, b.HTTPURL()+"/metrics")
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
	b := start(t)
	code, _ := get(t, b.HTTPURL()+"/healthz")
	require.Equal(t, http.StatusOK, code)
	b.ns.Shutdown()
	code, body := get(t, b.HTTPURL()+"/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.NoError(t, b.Close(context.Background()))
}

// TestHealthzIsUnavailableWithoutTheBridgeConnection: a bridge whose own
// connection is gone gathers no stats, and says so.
func TestHealthzIsUnavailableWithoutTheBridgeConnection(t *testing.T) {
	b := start(t)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	b.nc.Close()
	code, body := get(t, b.HTTPURL()+"/healthz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "connection to the server is closed")
}
