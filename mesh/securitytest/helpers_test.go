package securitytest

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// logger returns a logger that keeps everything, debug included, in buf.
func logger(buf *testutil.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// dial connects a worker with cfg to url and closes it in t.Cleanup; unlike
// testutil.Connect it returns Connect's error.
func dial(t *testing.T, url string, cfg mesh.Config) (*mesh.Worker, error) {
	t.Helper()
	cfg.Servers = []string{url}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w, err := mesh.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("close %s: %v", cfg.Service, err)
		}
	})
	return w, nil
}

// mustDial is dial that fails the test on an error.
func mustDial(t *testing.T, url string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	w, err := dial(t, url, cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", cfg.Service, err)
	}
	return w
}

// roundTrip proves that w works: it handles an event it emits to its own
// service.
func roundTrip(t *testing.T, w *mesh.Worker) {
	t.Helper()
	rec := testutil.NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	if _, err := w.On(ctx, "security:check", rec); err != nil {
		t.Fatalf("On: %v", err)
	}
	if err := w.Emit(ctx, "security:check", map[string]string{"from": w.Service()}, mesh.ToSelf()); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if ev := rec.WaitType(t, "security:check", 0); ev.Source != w.Service() {
		t.Fatalf("source = %q, want %q", ev.Source, w.Service())
	}
}

// assertNoSecret fails the test if secret appears in any of texts.
func assertNoSecret(t *testing.T, secret string, texts map[string]string) {
	t.Helper()
	if secret == "" {
		return
	}
	for what, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("the secret appears in %s: %s", what, text)
		}
	}
}
