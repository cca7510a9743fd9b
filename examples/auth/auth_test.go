package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	"github.com/exprsn/ipcmesh/testutil"
)

// This file shows how to test a service of your own: start an embedded
// server, connect the service and a client worker to it, and talk to the
// service over the mesh as the other services will. The service keeps its
// data in a database file of the test's temporary directory.

// quickRelay notices failures and recovers quickly.
var quickRelay = outbox.Config{PollInterval: 100 * time.Millisecond, PublishTimeout: time.Second,
	MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}

// register registers auth on w with user ana, in database file db, and
// closes it in t.Cleanup, before w.
func register(t *testing.T, w *mesh.Worker, db string, ttl time.Duration) *auth.Service {
	t.Helper()
	svc, err := auth.Register(t.Context(), w, auth.Config{Database: db, SessionTTL: ttl, Outbox: quickRelay,
		Users: []auth.Profile{{UserID: "ana", Name: "Ana"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return svc
}

// start connects auth with one user and a client worker, as spark would be,
// to a server with the namespace's streams, which the outbox needs.
func start(t *testing.T) (*auth.Service, *mesh.Worker, *testutil.Server) {
	t.Helper()
	srv := testutil.StartServer(t, testutil.WithStreams())
	svc := register(t, testutil.Connect(t, srv, auth.Name), filepath.Join(t.TempDir(), "auth.db"), 0)
	return svc, testutil.Connect(t, srv, "exprsn-spark"), srv
}

func TestProfileGet(t *testing.T) {
	_, client, _ := start(t)
	for _, tt := range []struct {
		name     string
		user     string
		want     auth.Profile
		wantCode int // of the *mesh.RemoteError, 0 for none
	}{
		{name: "known user", user: "ana", want: auth.Profile{UserID: "ana", Name: "Ana"}},
		{name: "unknown user", user: "zoe", wantCode: 404},
		{name: "no user", user: "", wantCode: 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := client.Request(context.Background(), auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: tt.user})
			if tt.wantCode != 0 {
				var re *mesh.RemoteError
				if !errors.As(err, &re) || re.Code != tt.wantCode {
					t.Fatalf("error %v, want a *mesh.RemoteError with code %d", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got auth.Profile
			if err := reply.Decode(&got); err != nil || got != tt.want {
				t.Fatalf("profile %+v (%v), want %+v", got, err, tt.want)
			}
		})
	}
}

// validate asks auth about token, as another service would.
func validate(t *testing.T, client *mesh.Worker, token string) auth.SessionInfo {
	t.Helper()
	reply, err := client.Request(context.Background(), auth.Name, auth.SessionValidate, auth.SessionQuery{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	var info auth.SessionInfo
	if err := reply.Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

func TestLoginValidateLogout(t *testing.T) {
	svc, client, _ := start(t)
	ctx := context.Background()
	users := testutil.NewRecorder()
	if _, err := client.On(ctx, "user:*", users); err != nil {
		t.Fatal(err)
	}

	token, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	login := users.WaitN(t, 1, 0)[0]
	if login.Type != auth.UserLogin || login.Source != auth.Name {
		t.Errorf("got %s from %s, want %s from %s", login.Type, login.Source, auth.UserLogin, auth.Name)
	}
	if got := validate(t, client, token); got != (auth.SessionInfo{Valid: true, UserID: "ana"}) {
		t.Errorf("valid session: %+v", got)
	}

	if err := svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	logout := users.WaitN(t, 2, 0)[1]
	if logout.Type != auth.UserLogout {
		t.Errorf("got %s, want %s", logout.Type, auth.UserLogout)
	}
	var in, out auth.UserEvent
	if err := errors.Join(login.Decode(&in), logout.Decode(&out)); err != nil || in != out || in.UserID != "ana" || in.SessionID == "" {
		t.Errorf("login %+v and logout %+v (%v), want the same user ana and session", in, out, err)
	}
	if got := validate(t, client, token); got.Valid {
		t.Errorf("session still valid after logout: %+v", got)
	}
	if err := svc.Logout(ctx, token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("second logout: %v, want ErrNoSession", err)
	}
	if _, err := svc.Login(ctx, "zoe"); !errors.Is(err, auth.ErrNoUser) {
		t.Errorf("login of an unknown user: %v, want ErrNoUser", err)
	}
}

func TestUpdateProfile(t *testing.T) {
	svc, client, _ := start(t)
	ctx := context.Background()
	updates := testutil.NewRecorder()
	if _, err := client.On(ctx, auth.UserProfileUpdated, updates); err != nil {
		t.Fatal(err)
	}
	want := auth.Profile{UserID: "ana", Name: "Ana", Bio: "new bio"}
	if err := svc.UpdateProfile(ctx, want); err != nil {
		t.Fatal(err)
	}
	var got auth.Profile
	if err := updates.WaitN(t, 1, 0)[0].Decode(&got); err != nil || got != want {
		t.Errorf("broadcast %+v (%v), want %+v", got, err, want)
	}
	reply, err := client.Request(ctx, auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if err := reply.Decode(&got); err != nil || got != want {
		t.Errorf("profile:get after the update: %+v (%v), want %+v", got, err, want)
	}
}

// Users and sessions live in the database: auth registered again on it
// keeps the updated profile over the one it is given, and the session.
func TestDataOutlivesTheService(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "auth.db")
	w := testutil.Connect(t, srv, auth.Name)
	first := register(t, w, db, 0)
	want := auth.Profile{UserID: "ana", Name: "Ana", Bio: "updated"}
	if err := first.UpdateProfile(ctx, want); err != nil {
		t.Fatal(err)
	}
	token, err := first.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(first.Close(ctx), w.Close(ctx)); err != nil {
		t.Fatal(err)
	}

	register(t, testutil.Connect(t, srv, auth.Name), db, 0)
	client := testutil.Connect(t, srv, "exprsn-spark")
	if got := validate(t, client, token); got != (auth.SessionInfo{Valid: true, UserID: "ana"}) {
		t.Errorf("the session after a restart: %+v", got)
	}
	reply, err := client.Request(ctx, auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: "ana"})
	var got auth.Profile
	if err == nil {
		err = reply.Decode(&got)
	}
	if err != nil || got != want {
		t.Errorf("the profile after a restart: %+v (%v), want %+v", got, err, want)
	}
}
