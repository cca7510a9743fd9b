package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// The cluster section: the durable paths on three nats-servers clustered
// on loopback, in this process, each with its own store directory, and
// streams with three replicas. Every stream the contenders use is led by
// the first server, which every client connects to; consumers are placed
// by the server, as in production.

// clusterNodes is the number of servers of the cluster.
const clusterNodes = 3

// clusterLeader is the name of the server that leads the streams.
const clusterLeader = "n0"

// clusterShare is the share of its main-table message count a contender
// sends on the cluster, where every message is written three times.
const clusterShare = 4

// startCluster starts the cluster and waits for its JetStream to take
// requests.
func startCluster(quiet bool) (*env, error) {
	ports, err := freePorts(clusterNodes)
	if err != nil {
		return nil, err
	}
	routes := make([]string, clusterNodes)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	srvs, dirs := make([]*server.Server, clusterNodes), make([]string, clusterNodes)
	errs := make(chan error, clusterNodes)
	for i := range clusterNodes {
		if dirs[i], err = os.MkdirTemp("", "ipcmesh-bench-cluster-"); err != nil {
			errs <- err
			continue
		}
		opts := embedded.Options(dirs[i])
		opts.ServerName = fmt.Sprintf("n%d", i)
		opts.Cluster = server.ClusterOpts{Name: "bench", Host: "127.0.0.1", Port: ports[i]}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		// Start them together: JetStream waits for a quorum of peers.
		go func() {
			var err error
			srvs[i], err = embedded.Start(opts)
			errs <- err
		}()
	}
	var startErr error
	for range clusterNodes {
		startErr = errors.Join(startErr, <-errs)
	}
	if startErr != nil {
		for _, s := range srvs {
			if s != nil {
				s.Shutdown()
			}
		}
		for _, d := range dirs {
			os.RemoveAll(d)
		}
		return nil, fmt.Errorf("cluster: %w", startErr)
	}
	e, err := newEnv(srvs, dirs, srvs[0], clusterNodes, quiet)
	if err != nil {
		return nil, err
	}
	if err := waitJetStream(e); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// freePorts returns n TCP ports free on loopback a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	return ports, nil
}

// waitJetStream waits until the cluster's JetStream answers, at most a
// minute: it has elected a meta leader.
func waitJetStream(e *env) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := e.js.AccountInfo(ctx)
		cancel()
		switch {
		case err == nil:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("cluster: JetStream not ready within a minute: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leadStreams moves the leadership of the streams to clusterLeader and
// waits until it leads each of them with every replica current.
func leadStreams(ctx context.Context, e *env, names ...string) error {
	for _, name := range names {
		for {
			s, err := e.js.Stream(ctx, name)
			if err != nil {
				return err
			}
			cl := s.CachedInfo().Cluster
			if cl != nil && cl.Leader == clusterLeader && replicasCurrent(cl) {
				break
			}
			if cl != nil && cl.Leader != "" && cl.Leader != clusterLeader {
				if err := stepDown(ctx, e, name); err != nil {
					return err
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("cluster: stream %s: not led by %s: %w", name, clusterLeader, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func replicasCurrent(cl *jetstream.ClusterInfo) bool {
	for _, p := range cl.Replicas {
		if !p.Current {
			return false
		}
	}
	return len(cl.Replicas) == clusterNodes-1
}

// stepDown asks the leader of stream to hand over to clusterLeader.
func stepDown(ctx context.Context, e *env, stream string) error {
	req := []byte(`{"placement":{"preferred":"` + clusterLeader + `"}}`)
	msg, err := e.admin.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, req)
	if err != nil {
		return fmt.Errorf("cluster: step down the leader of %s: %w", stream, err)
	}
	var resp struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("cluster: step down the leader of %s: %w", stream, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("cluster: step down the leader of %s: %s", stream, resp.Error.Description)
	}
	return nil
}

// runCluster starts the cluster and measures durable publish and consume
// on it, mesh against raw nats.go and the floor of the mesh's wire format,
// at the first payload size.
func runCluster(o options, rp *report) error {
	o.logf("%s: starting %d servers", sectionCluster, clusterNodes)
	e, err := startCluster(o.quiet)
	if err != nil {
		return err
	}
	defer e.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := setupStreams(ctx, e, false); err != nil {
		return err
	}
	if err := leadStreams(ctx, e, rawStream, meshStream()); err != nil {
		return err
	}
	count := func(n, _ int) int { return o.n(n / clusterShare) }
	pub := plan{section: sectionClusterPub, sizes: o.sizes[:1], count: count}
	if err := runPublish(o, e, rp, pub, []pubCase{pubRaw, pubFloor, pubMesh, pubBatchFloor, pubBatch}); err != nil {
		return err
	}
	cons := plan{section: sectionClusterCons, sizes: o.sizes[:1], count: count}
	return runConsume(o, e, rp, cons, []consCase{consRaw, consFloor, consMesh})
}
