package testutil

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
)

// Connect connects a worker for service to s and closes it in t.Cleanup,
// failing the test if either fails. cfg, if given, supplies further
// settings; its Service and Servers are overwritten.
func Connect(t testing.TB, s *Server, service string, cfg ...mesh.Config) *mesh.Worker {
	t.Helper()
	var c mesh.Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.Service = service
	c.Servers = []string{s.URL()}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
	defer cancel()
	w, err := mesh.Connect(ctx, c)
	if err != nil {
		t.Fatalf("testutil: connect %s: %v", service, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("testutil: close %s: %v", service, err)
		}
	})
	return w
}
