package spark_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// start connects and registers spark.
func start(t *testing.T, srv *testutil.Server, cfg ...mesh.Config) *spark.Service {
	t.Helper()
	svc, err := spark.Register(t.Context(), testutil.Connect(t, srv, spark.Name, cfg...))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestPresence(t *testing.T) {
	srv := testutil.StartServer(t)
	handled := testutil.NewRecorder()
	svc := start(t, srv, mesh.Config{Middleware: []mesh.Middleware{handled.Middleware()}})
	authW := testutil.Connect(t, srv, auth.Name) // a stand-in for auth
	ctx := context.Background()

	for i, step := range []struct {
		event, user string
		want        []string
	}{
		{auth.UserLogin, "ana", []string{"ana"}},
		{auth.UserLogin, "ben", []string{"ana", "ben"}},
		{auth.UserLogout, "ana", []string{"ben"}},
	} {
		if err := authW.Emit(ctx, step.event, auth.UserEvent{UserID: step.user}); err != nil {
			t.Fatal(err)
		}
		handled.WaitN(t, i+1, 0)
		if got := svc.Online(); !slices.Equal(got, step.want) {
			t.Errorf("after %s of %s: online %v, want %v", step.event, step.user, got, step.want)
		}
	}
}

func TestLivePosts(t *testing.T) {
	srv := testutil.StartServer(t)
	svc := start(t, srv)
	posts, disconnect := svc.ConnectClient()
	defer disconnect()

	want := timeline.Post{ID: "p1", Author: "ana", Text: "hi"}
	if err := testutil.Connect(t, srv, timeline.Name).Emit(context.Background(), timeline.PostCreated, want); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-posts:
		if got != want {
			t.Errorf("client got %+v, want %+v", got, want)
		}
	case <-time.After(testutil.DefaultWait):
		t.Fatal("the connected client got no post")
	}
}

func TestProfile(t *testing.T) {
	// auth announces its events through an outbox, which needs the event
	// stream.
	srv := testutil.StartServer(t, testutil.WithStreams())
	svc := start(t, srv)
	ctx := context.Background()
	if _, err := svc.Profile(ctx, "ana"); !errors.Is(err, mesh.ErrNoResponders) {
		t.Fatalf("without auth: %v, want mesh.ErrNoResponders", err)
	}

	ana := auth.Profile{UserID: "ana", Name: "Ana"}
	authSvc, err := auth.Register(t.Context(), testutil.Connect(t, srv, auth.Name),
		auth.Config{Database: filepath.Join(t.TempDir(), "auth.db"), Users: []auth.Profile{ana}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // before its worker closes
		if err := authSvc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if got, err := svc.Profile(ctx, "ana"); err != nil || got != ana {
		t.Errorf("profile %+v (%v), want %+v", got, err, ana)
	}
	var re *mesh.RemoteError
	if _, err := svc.Profile(ctx, "zoe"); !errors.As(err, &re) || re.Code != 404 {
		t.Errorf("unknown user: %v, want a *mesh.RemoteError with code 404", err)
	}
}
