package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestSetup: meshctl setup creates the spec's resources, says so, and
// changes nothing when run again.
func TestSetup(t *testing.T) {
	s := testutil.StartServer(t)
	spec := filepath.Join(t.TempDir(), "mesh.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"namespace": "social", "services": [
		{"name": "exprsn-herald", "durable": [{"event": "notification:queued", "max_deliver": 8}], "idempotency_guard": true}]}`), 0o600))
	consumer := subjects.ConsumerName("exprsn-herald", "notification:queued")
	require.Equal(t, "stream MESH_social_SCHED: created\nstream MESH_social: created\nstream MESH_social_DLQ: created\n"+
		"bucket MESH_social_handled_exprsn-herald: created\nconsumer "+consumer+": created\n",
		succeed(t, "setup", "--spec", spec, "--server", s.URL()))
	require.Equal(t, "stream MESH_social_SCHED: unchanged\nstream MESH_social: unchanged\nstream MESH_social_DLQ: unchanged\n"+
		"bucket MESH_social_handled_exprsn-herald: unchanged\nconsumer "+consumer+": unchanged\n",
		succeed(t, "setup", "--spec", spec, "--server", s.URL()))

	r := meshctl(t, "setup", "--server", s.URL())
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "--spec is required")
	require.NoError(t, os.WriteFile(spec, []byte(`{"services": [{"name": "a", "durable": [{"event": "x", "max_delivre": 8}]}]}`), 0o600))
	r = meshctl(t, "setup", "--spec", spec, "--server", s.URL())
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, `unknown field "max_delivre"`)
}
