package faulttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// serverBinary is a nats-server built from the module, by TestMain.
var serverBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faulttest-")
	if err != nil {
		panic(err)
	}
	serverBinary = filepath.Join(dir, "nats-server")
	build := exec.Command("go", "build", "-o", serverBinary, "github.com/nats-io/nats-server/v2")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build nats-server: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// process is a nats-server running as its own process.
type process struct {
	t     *testing.T
	port  int
	store string
	cmd   *exec.Cmd
}

func startProcess(t *testing.T) *process {
	p := &process{t: t, port: freePort(t), store: t.TempDir()}
	p.start()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *process) url() string { return "nats://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *process) start() {
	p.t.Helper()
	p.cmd = exec.Command(serverBinary, "-js", "-sd", p.store, "-a", "127.0.0.1", "-p", strconv.Itoa(p.port))
	require.NoError(p.t, p.cmd.Start())
	require.Eventually(p.t, func() bool {
		nc, err := nats.Connect(p.url())
		if err != nil {
			return false
		}
		nc.Close()
		return true
	}, 30*time.Second, 20*time.Millisecond, "nats-server process did not start")
}

// kill sends SIGKILL and reaps the process.
func (p *process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// TestServerProcessKilled kills the server process with SIGKILL in the
// middle of asynchronous emits and durable handling, and restarts it on the
// same store: every acknowledged emit is handled, and the workers reconnect
// by themselves.
func TestServerProcessKilled(t *testing.T) {
	n := scaled(3000)
	p := startProcess(t)
	cfg := mesh.Config{Servers: []string{p.url()}, Stream: mesh.StreamConfig{Manage: true}, AsyncEmitTimeout: 5 * time.Second}
	w := connect(t, "exprsn-herald", cfg)
	l := newLedger()
	_, err := w.OnDurable(context.Background(), "fault:event", l.handler(), mesh.Concurrency(8), mesh.AckWait(2*time.Second))
	require.NoError(t, err)

	l.emit(t, w, n, func(i int) {
		if i == n/3 {
			p.kill()
			p.start()
		}
	})
	l.waitHandled(t, "kill -9", n)
}

func connect(t *testing.T, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	cfg.Service = service
	w, err := mesh.Connect(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w
}
