package faulttest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// node is one server of an in-process cluster.
type node struct {
	opts *server.Options
	srv  *server.Server
}

// startCluster starts three clustered JetStream servers on loopback.
func startCluster(t *testing.T) []*node {
	t.Helper()
	clusterPorts := []int{freePort(t), freePort(t), freePort(t)}
	var routes string
	for i, p := range clusterPorts {
		if i > 0 {
			routes += ","
		}
		routes += "nats-route://127.0.0.1:" + strconv.Itoa(p)
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		o := embedded.Options(t.TempDir())
		o.ServerName = fmt.Sprintf("n%d", i)
		o.Port = freePort(t)
		o.Cluster = server.ClusterOpts{Name: "mesh", Host: "127.0.0.1", Port: clusterPorts[i]}
		o.Routes = server.RoutesFromStr(routes)
		nodes[i] = &node{opts: o}
	}
	// Start them together: JetStream waits for a quorum of peers.
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		go func() { errs <- n.start() }()
	}
	for range nodes {
		require.NoError(t, <-errs)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.stop()
		}
	})
	return nodes
}

func (n *node) start() error {
	o := *n.opts
	s, err := embedded.Start(&o)
	if err != nil {
		return err
	}
	n.srv = s
	return nil
}

func (n *node) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func (n *node) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.opts.Port) }

// TestClusterNodeLoss stops the server leading a three-replica stream in the
// middle of the emits and brings it back: no acknowledged event is lost and
// the workers go on with the other servers.
func TestClusterNodeLoss(t *testing.T) {
	n := scaled(2000)
	nodes := startCluster(t)
	var urls []string
	for _, nd := range nodes {
		urls = append(urls, nd.url())
	}
	cfg := mesh.Config{Servers: urls, AsyncEmitTimeout: 5 * time.Second,
		Stream: mesh.StreamConfig{Manage: true, Config: streams.Config{Replicas: 3, Storage: jetstream.FileStorage}}}
	var w *mesh.Worker
	require.Eventually(t, func() bool {
		var err error
		w, err = mesh.Connect(context.Background(), func() mesh.Config { c := cfg; c.Service = "exprsn-herald"; return c }())
		return err == nil
	}, time.Minute, 100*time.Millisecond, "the cluster did not accept the streams")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	l := newLedger()
	_, err := w.OnDurable(context.Background(), "fault:event", l.handler(), mesh.Concurrency(8), mesh.AckWait(2*time.Second))
	require.NoError(t, err)

	var leader *node
	l.emit(t, w, n, func(i int) {
		switch i {
		case n / 3:
			leader = streamLeader(t, w, nodes)
			leader.stop()
		case 2 * n / 3:
			require.NoError(t, leader.start())
		}
	})
	l.waitHandled(t, "cluster leader loss", n)
}

// streamLeader returns the node leading the event stream.
func streamLeader(t *testing.T, w *mesh.Worker, nodes []*node) *node {
	t.Helper()
	info, err := w.JetStream().Stream(context.Background(), subjects.EventStream("ipc"))
	require.NoError(t, err)
	name := info.CachedInfo().Cluster.Leader
	for _, nd := range nodes {
		if nd.opts.ServerName == name {
			return nd
		}
	}
	t.Fatalf("no node named %q leads the stream", name)
	return nil
}
