package interop_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// natsInstall is the command that installs the nats CLI these tests use.
const natsInstall = "go install github.com/nats-io/natscli/nats@v0.5.0"

// natsCLI returns the path of the nats command line tool, on PATH or in
// $(go env GOPATH)/bin. Without it the test fails saying how to install it,
// or skips with -short.
func natsCLI(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("nats"); err == nil {
		return path
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			path := filepath.Join(dir, "bin", "nats")
			if _, err := os.Stat(path); err == nil {
				return path
			}
		}
	}
	msg := "the nats CLI is neither on PATH nor in $(go env GOPATH)/bin: install it with `" + natsInstall + "`"
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg + " (or run go test -short to skip this test)")
	return ""
}

// cli runs the nats CLI against the server at url, with a home of its own
// so that no context of the machine's user applies, and returns its output.
func cli(t *testing.T, nats, url string, args ...string) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx(t), nats, append([]string{"--server", url}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "NATS_CONTEXT=", "NATS_URL=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "nats %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

// TestNATSCLI publishes events with `nats pub`, in the documented structured
// format and in binary mode with ce-* headers, live and to the stream, and
// asks a responder with `nats request`.
func TestNATSCLI(t *testing.T) {
	nats := natsCLI(t)
	srv := testutil.StartServer(t)
	w, refused := heraldWorker(t, srv)
	live := testutil.NewRecorder()
	_, err := w.On(ctx(t), trigger, live)
	require.NoError(t, err)
	url := srv.URL()

	wait := func(t *testing.T, rec *testutil.Recorder, id string) *mesh.Event {
		t.Helper()
		return byID(rec.WaitFor(t, 0, func(evs []*mesh.Event) bool { return byID(evs, id) != nil }), id)
	}

	t.Run("structured", func(t *testing.T) {
		cli(t, nats, url, "pub", toHerald,
			`{"specversion":"1.0","id":"cli-s1","source":"nats-cli","type":"notification:trigger","datacontenttype":"application/json","data":{"userId":"ana"}}`)
		ev := wait(t, live, "cli-s1")
		assert.Equal(t, "nats-cli", ev.Source)
		assert.JSONEq(t, `{"userId":"ana"}`, string(ev.Data))
	})

	t.Run("binary with ce headers", func(t *testing.T) {
		cli(t, nats, url, "pub", toHerald, `{"userId":"ana"}`,
			"-H", "ce-specversion:1.0", "-H", "ce-id:cli-b1", "-H", "ce-source:nats-cli", "-H", "ce-type:notification:trigger",
			"-H", "ce-time:2025-03-14T15:09:26Z", "-H", "Content-Type:application/json", "-H", "ce-subject:Zo%C3%AB%20100%25",
			"-H", "ce-traceparent:"+traceID)
		ev := wait(t, live, "cli-b1")
		assert.Equal(t, trigger, ev.Type)
		assert.Equal(t, "application/json", ev.DataContentType)
		assert.Equal(t, "Zoë 100%", ev.Subject)
		assert.True(t, ev.Time.Equal(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)))
		tp, _ := ev.Extension("traceparent")
		assert.Equal(t, traceID, tp)
	})

	t.Run("to the stream, templated ids, a durable handler", func(t *testing.T) {
		cli(t, nats, url, "pub", "--jetstream", "--count", "3", toHerald, `{"userId":"ben"}`,
			"-H", "ce-specversion:1.0", "-H", "ce-id:cli-{{ Count }}", "-H", "ce-source:nats-cli",
			"-H", "ce-type:notification:trigger", "-H", "Content-Type:application/json")
		durable := testutil.NewRecorder()
		_, err := w.OnDurable(ctx(t), trigger, durable, mesh.StartAtFirst())
		require.NoError(t, err)
		for _, id := range []string{"cli-1", "cli-2", "cli-3"} {
			assert.NotZero(t, wait(t, durable, id).StreamSequence)
		}
	})

	t.Run("not a CloudEvent is refused", func(t *testing.T) {
		cli(t, nats, url, "pub", toHerald, "hello")
		assert.ErrorIs(t, waitRefused(t, refused), codec.ErrMalformed)
	})

	t.Run("request", func(t *testing.T) {
		_, err := w.OnRequest(ctx(t), "profile:get", mesh.ResponderFunc(func(_ context.Context, ev *mesh.Event) (any, error) {
			return map[string]string{"userId": "ana", "name": "Ana", "asker": ev.Source}, nil
		}))
		require.NoError(t, err)
		out := cli(t, nats, url, "request", "--raw", "_rpc.ipc.exprsn-herald.profile.get",
			`{"specversion":"1.0","id":"cli-r1","source":"nats-cli","type":"profile:get","data":{"userId":"ana"}}`)
		var reply codec.Event
		require.NoError(t, codec.Decode(nil, []byte(strings.TrimSpace(out)), &reply), "reply %q", out)
		assert.Equal(t, herald, reply.Source)
		assert.Equal(t, "profile:get", reply.Type)
		assert.JSONEq(t, `{"userId":"ana","name":"Ana","asker":"nats-cli"}`, string(reply.Data))
	})
}
