package main

import (
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// TestErrorsAreOneLine runs commands that fail at runtime or on their
// arguments: each prints one "meshctl: ..." line, no usage, and exits 1.
func TestErrorsAreOneLine(t *testing.T) {
	bare := testutil.StartServer(t) // no streams
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wrong server", []string{"stats", "--server", "nats://127.0.0.1:1"}, "connect to nats://127.0.0.1:1"},
		{"wrong server for a worker", []string{"emit", "x:y", "--server", "nats://127.0.0.1:1"}, "is nats-server running there"},
		{"no event stream", []string{"replay", "--to", "billing", "--server", bare.URL()}, "has no event stream MESH_ipc"},
		{"no dead-letter stream", []string{"dlq", "list", "--server", bare.URL()}, "stream not found"},
		{"no dead-letter stream to purge", []string{"dlq", "purge", "--server", bare.URL()}, "has no dead-letter stream MESH_ipc_DLQ"},
		{"unknown flag", []string{"emit", "x:y", "--bogus"}, "unknown flag: --bogus (see 'meshctl emit --help')"},
		{"unknown command", []string{"bogus"}, `unknown command "bogus" for "meshctl"`},
		{"unknown dlq command", []string{"dlq", "bogus"}, `unknown command "bogus" for "meshctl dlq"`},
		{"missing argument", []string{"request", "billing"}, "accepts between 2 and 3 arg(s)"},
		{"bad JSON", []string{"emit", "x:y", "{bad"}, "data is not valid JSON"},
		{"bad event name", []string{"emit", "x.y", "--server", bare.URL()}, `invalid event name "x.y"`},
		{"bad namespace", []string{"tail", "--namespace", "a.b"}, `invalid namespace "a.b"`},
		{"replay needs a destination", []string{"replay", "--since", "1h"}, "[to out]"},
		{"replay has one start", []string{"replay", "--since", "1h", "--from-seq", "3", "--to", "x"}, "[since from-time from-seq]"},
		{"bad until", []string{"replay", "--until", "soon", "--to", "x"}, `--until "soon"`},
		{"bad dead letter id", []string{"dlq", "show", "abc"}, `dead letter ID "abc"`},
		{"password without user", []string{"stats", "--password", "x"}, "--password needs --user"},
		{"listen taken", []string{"serve", "--listen", strings.TrimPrefix(bare.URL(), "nats://"), "--store", t.TempDir()}, "address already in use"},
		{"bad listen", []string{"serve", "--listen", "4222"}, "want host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := meshctl(t, tt.args...)
			require.Equal(t, 1, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
			require.Empty(t, r.stdout)
			require.NotContains(t, r.stderr, "Usage:")
			requireOneErrorLine(t, r.stderr, tt.want)
		})
	}
}

func TestWithoutJetStream(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithoutJetStream())
	out := succeed(t, "emit", "post:created", "--server", s.URL())
	require.Regexp(t, `^id \S+ \(not stored: namespace "ipc" has no event stream\)\n$`, out)
	out = succeed(t, "stats", "--server", s.URL())
	require.Contains(t, out, "event stream  none")
}

func TestHelp(t *testing.T) {
	root := succeed(t, "--help")
	for _, cmd := range []string{"serve", "emit", "tail", "request", "replay", "dlq", "consumers", "stats"} {
		require.Contains(t, root, "\n  "+cmd+" ")
		help := succeed(t, cmd, "--help")
		require.Contains(t, help, "Examples:", cmd)
		require.Contains(t, help, "--namespace", cmd)
	}
	for _, cmd := range []string{"list", "show", "redrive", "purge"} {
		require.Contains(t, succeed(t, "dlq", cmd, "--help"), "Examples:", cmd)
	}
	for _, cmd := range []string{"list", "info", "pause", "resume", "delete"} {
		require.Contains(t, succeed(t, "consumers", cmd, "--help"), "Examples:", cmd)
	}
	for _, cmd := range []string{"list", "info"} { // what lag means
		require.Contains(t, succeed(t, "consumers", cmd, "--help"), "LAG is PENDING + ACK PENDING", cmd)
	}
}

func TestCredentials(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithUsers(&server.User{Username: "ops", Password: "s3cret"}))
	r := meshctl(t, "stats", "--server", s.URL())
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "Authorization Violation")
	r = meshctl(t, "emit", "x:y", "--server", s.URL(), "--user", "ops", "--password", "wrong")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "check the credentials")

	out := succeed(t, "emit", "x:y", "--server", s.URL(), "--user", "ops", "--password", "s3cret")
	require.Contains(t, out, "not stored")
	out = succeed(t, "stats", "--server", s.URL(), "--user", "ops", "--password", "s3cret")
	require.Contains(t, out, "event stream  none")
}
