// Package statstest makes the traffic that the tests of meshctl's stats
// count, on any server the test knows the URL of: the bridge's, over the
// network, as meshctl serve runs it, or a test server.
package statstest

import (
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// Traffic connects the service orders and two instances of billing to url,
// all closed with the test; billing handles order:created, and orders
// emits five of them as broadcasts. It returns once both billing instances
// have handled all five: the report then counts orders 1 instance, 5
// emitted; billing 2 instances, 10 received and handled; 5 events stored.
func Traffic(t testing.TB, url string) {
	t.Helper()
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
}

// connectWorker connects a worker for service to url, closed with the test.
func connectWorker(t testing.TB, url, service string) *mesh.Worker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w, err := mesh.Connect(ctx, mesh.Config{Service: service, Servers: []string{url}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		require.NoError(t, w.Close(ctx))
	})
	return w
}
