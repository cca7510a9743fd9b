package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// This file shows how to test a service of your own: start an embedded
// server, connect the service and a client worker to it, and talk to the
// service over the mesh as the other services will.

// start connects auth with one user and a client worker, as spark would be.
func start(t *testing.T) (*auth.Service, *mesh.Worker) {
	t.Helper()
	srv := testutil.StartServer(t)
	svc, err := auth.Register(t.Context(), testutil.Connect(t, srv, auth.Name), auth.Profile{UserID: "ana", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	return svc, testutil.Connect(t, srv, "exprsn-spark")
}

func TestProfileGet(t *testing.T) {
	_, client := start(t)
	for _, tt := range []struct {
		name     string
		user     string
		want     auth.Profile
		wantCode int // of the *mesh.RemoteError, 0 for none
	}{
		{name: "known user", user: "ana", want: auth.Profile{UserID: "ana", Name: "Ana"}},
		{name: "unknown user", user: "zoe", wantCode: 404},
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

func TestLoginValidateLogout(t *testing.T) {
	svc, client := start(t)
	ctx := context.Background()
	users := testutil.NewRecorder()
	if _, err := client.On(ctx, "user:*", users); err != nil {
		t.Fatal(err)
	}
	validate := func(token string) auth.SessionInfo {
		t.Helper()
		reply, err := client.Request(ctx, auth.Name, auth.SessionValidate, auth.SessionQuery{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		var info auth.SessionInfo
		if err := reply.Decode(&info); err != nil {
			t.Fatal(err)
		}
		return info
	}

	token, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if ev := users.WaitN(t, 1, 0)[0]; ev.Type != auth.UserLogin || ev.Source != auth.Name {
		t.Errorf("got %s from %s, want %s from %s", ev.Type, ev.Source, auth.UserLogin, auth.Name)
	}
	if got := validate(token); got != (auth.SessionInfo{Valid: true, UserID: "ana"}) {
		t.Errorf("valid session: %+v", got)
	}

	if err := svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if ev := users.WaitN(t, 2, 0)[1]; ev.Type != auth.UserLogout {
		t.Errorf("got %s, want %s", ev.Type, auth.UserLogout)
	}
	if got := validate(token); got.Valid {
		t.Errorf("session still valid after logout: %+v", got)
	}
	if _, err := svc.Login(ctx, "zoe"); err == nil {
		t.Error("login of an unknown user succeeded")
	}
}

func TestUpdateProfile(t *testing.T) {
	svc, client := start(t)
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
