package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/exprsn/ipcmesh/examples/service/spec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// TestSpecMatchesTheServices: once the operator applied spec/mesh.json, every
// service registers as a provisioned worker (a durable handler missing
// from the spec would fail), and none is told its options differ.
func TestSpecMatchesTheServices(t *testing.T) {
	s, err := spec.Load()
	require.NoError(t, err)
	srv := testutil.StartServer(t)
	ctx := context.Background()
	op := testutil.Connect(t, srv, "meshctl", mesh.Config{Stream: mesh.StreamConfig{Disable: true}})
	js, err := jetstream.New(op.Conn())
	require.NoError(t, err)
	_, err = setup.Apply(ctx, js, s)
	require.NoError(t, err)
	require.Len(t, s.Services, len(services))
	for short, svc := range services {
		reports := make(chan error, 16)
		w := testutil.Connect(t, srv, svc.name, mesh.Config{Stream: mesh.StreamConfig{Provisioned: true},
			OnError: func(err error) { reports <- err }})
		r, err := svc.start(ctx, w, filepath.Join(t.TempDir(), short+".db"))
		require.NoError(t, err, short)
		require.Empty(t, reports, short)
		require.NoError(t, r.close(ctx), short)
	}
}

func TestPasswordOf(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials.env")
	require.NoError(t, os.WriteFile(file, []byte("EXPRSN_AUTH_PASSWORD=a1\nEXPRSN_HERALD_PASSWORD=h2\n"), 0o600))
	pw, err := passwordOf(file, "exprsn-herald")
	require.NoError(t, err)
	require.Equal(t, "h2", pw)
	_, err = passwordOf(file, "exprsn-spark")
	require.ErrorContains(t, err, "no EXPRSN_SPARK_PASSWORD")
}
