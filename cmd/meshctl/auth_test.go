package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// TestAuth: meshctl auth prints what package permissions generates.
func TestAuth(t *testing.T) {
	out := succeed(t, "auth", "exprsn-herald", "exprsn-spark", "--durable", "exprsn-herald=notification:queued", "--guard", "exprsn-herald",
		"--once", "exprsn-herald=user:login")
	users, err := permissions.ForServices("ipc",
		permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}, IdempotencyGuard: true, OncePerService: []string{"user:login"}},
		permissions.Service{Name: "exprsn-spark"})
	require.NoError(t, err)
	want, err := permissions.Config(users)
	require.NoError(t, err)
	require.Equal(t, want, out)

	spec := filepath.Join(t.TempDir(), "mesh.json")
	require.NoError(t, os.WriteFile(spec, []byte(`{"services": [
		{"name": "exprsn-herald", "durable": [{"event": "notification:queued"}], "idempotency_guard": true, "once_per_service": ["user:login"]},
		{"name": "exprsn-spark"}]}`), 0o600))
	require.Equal(t, want, succeed(t, "auth", "--spec", spec), "the spec file and the flags say the same")
	r := meshctl(t, "auth", "--spec", spec, "exprsn-spark")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "either with --spec or as arguments")

	r = meshctl(t, "auth", "exprsn-spark", "--once", "exprsn-herald=user:login")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "want SERVICE=PATTERN for one of the services given")
}

// TestCredentialFlags: every credential flag is checked, a refused
// connection names the flags to check, and a password never shows.
func TestCredentialFlags(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithUsers(&server.User{Username: "ops", Password: "pw-secret"}))
	inURL := strings.Replace(s.URL(), "nats://", "nats://ops:wrong-secret@", 1)
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"password in the URL", []string{"stats", "--server", inURL}, "check --creds, --user and --password, --token or --nkey"},
		{"password in the URL, as a worker", []string{"emit", "x:y", "--server", inURL}, "check the credentials"},
		{"wrong token", []string{"stats", "--server", s.URL(), "--token", "wrong-secret"}, "check --creds, --user and --password"},
		{"two ways to authenticate", []string{"stats", "--user", "ops", "--token", "t"}, "exclude each other"},
		{"certificate without key", []string{"stats", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{"missing NKey seed", []string{"stats", "--nkey", missing}, "--nkey"},
		{"missing creds", []string{"stats", "--server", s.URL(), "--creds", missing}, "check the files given with --creds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := meshctl(t, tt.args...)
			require.Equal(t, 1, r.code, "stdout: %s stderr: %s", r.stdout, r.stderr)
			requireOneErrorLine(t, r.stderr, tt.want)
			require.NotContains(t, r.stderr, "secret")
		})
	}
	require.Contains(t, succeed(t, "stats", "--server", s.URL(), "--user", "ops", "--password", "pw-secret"), "event stream")
}
