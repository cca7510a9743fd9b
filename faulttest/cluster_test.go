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
	w := connectCluster(t, "exprsn-herald", clusterConfig(urls))
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

// clusterConfig is a worker's configuration for the cluster at urls: it
// manages the namespace's streams, three replicas on file storage.
func clusterConfig(urls []string) mesh.Config {
	return mesh.Config{Servers: urls, AsyncEmitTimeout: 5 * time.Second,
		Stream: mesh.StreamConfig{Manage: true, Config: streams.Config{Replicas: 3, Storage: jetstream.FileStorage}}}
}

// connectCluster connects a worker of service with cfg, retrying until the
// cluster has elected its JetStream leader and accepted the streams (at
// most a minute), and closes it when the test ends.
func connectCluster(t *testing.T, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	cfg.Service = service
	var w *mesh.Worker
	require.Eventually(t, func() bool {
		var err error
		w, err = mesh.Connect(context.Background(), cfg)
		return err == nil
	}, time.Minute, 100*time.Millisecond, "the cluster did not accept the streams")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}

// streamLeader returns the node leading the event stream.
func streamLeader(t *testing.T, w *mesh.Worker, nodes []*node) *node {
	t.Helper()
	info, err := w.JetStream().Stream(context.Background(), subjects.EventStream("ipc"))
	require.NoError(t, err)
	return nodeNamed(t, nodes, info.CachedInfo().Cluster.Leader)
}

// nodeNamed returns the node whose server is called name.
func nodeNamed(t *testing.T, nodes []*node, name string) *node {
	t.Helper()
	for _, nd := range nodes {
		if nd.opts.ServerName == name {
			return nd
		}
	}
	t.Fatalf("no node named %q leads the stream", name)
	return nil
}
