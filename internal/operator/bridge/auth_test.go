package bridge

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// TestServeWithSpecAndAuth: a bridge started with a spec and generated
// credentials applies the setup, writes each user's password, accepts
// services with them (their workers provisioned, with private inboxes) and
// refuses a client without.
func TestServeWithSpecAndAuth(t *testing.T) {
	spec, err := setup.Parse([]byte(`{"services": [
		{"name": "exprsn-timeline"},
		{"name": "exprsn-herald", "durable": [{"event": "notification:queued"}]}]}`))
	require.NoError(t, err)
	dir := t.TempDir()
	auth, err := NewAuth(spec, dir)
	require.NoError(t, err)
	b, err := Start(context.Background(), Config{
		Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", StoreDir: t.TempDir(), Namespace: "ipc", MaxAge: time.Hour,
		Spec: &spec, Auth: auth,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })

	env, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, CredentialsFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	for _, user := range []string{"exprsn-timeline", "exprsn-herald", permissions.OperatorName} {
		require.Contains(t, string(env), permissions.PasswordVar(user)+"="+auth.Password(user)+"\n")
	}

	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	connect := func(service string) *mesh.Worker {
		w, err := mesh.Connect(ctx, mesh.Config{Service: service, Servers: []string{b.NATSURL()},
			Stream:      mesh.StreamConfig{Provisioned: true},
			NATSOptions: []nats.Option{nats.UserInfo(service, auth.Password(service))}})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, w.Close(context.Background())) })
		return w
	}
	herald, timeline := connect("exprsn-herald"), connect("exprsn-timeline")
	rec := testutil.NewRecorder()
	_, err = herald.OnDurable(ctx, "notification:queued", rec)
	require.NoError(t, err, "the consumer of %s exists", subjects.ConsumerName("exprsn-herald", "notification:queued"))
	// The dashboard's events stream reads the event stream as the operator.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.HTTPURL()+"/api/ipc/events?event=notification:*", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := bufio.NewReader(resp.Body)
	opening, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, ": ok\n", opening, "the stream is in the feed")
	require.NoError(t, timeline.Emit(ctx, "notification:queued", nil, mesh.To("exprsn-herald")))
	rec.WaitType(t, "notification:queued", 0)
	for line := ""; line != "event: notification:queued\n"; {
		line, err = lines.ReadString('\n')
		require.NoError(t, err)
	}

	_, err = nats.Connect(b.NATSURL())
	require.Error(t, err, "a client without credentials is refused")
	require.True(t, errors.Is(err, nats.ErrAuthorization) || strings.Contains(err.Error(), "Authorization"), "%v", err)
}
