package auth_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/testutil"
)

// logins records the user:login events another service (herald, say)
// takes with a durable handler, which resumes after an outage.
func logins(t *testing.T, srv *testutil.Server) *testutil.Recorder {
	t.Helper()
	rec := testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, "exprsn-herald").OnDurable(t.Context(), auth.UserLogin, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// loggedInOnce checks that rec got exactly the logins of sessions, in
// that order, each once: the last is a barrier logged in after the
// others, so nothing before it is still on its way.
func loggedInOnce(t *testing.T, rec *testutil.Recorder, sessions ...string) {
	t.Helper()
	got := rec.WaitN(t, len(sessions), 0)
	if len(got) != len(sessions) {
		t.Errorf("%d logins, want %d", len(got), len(sessions))
	}
	for i, ev := range got[:min(len(got), len(sessions))] {
		var u auth.UserEvent
		if err := ev.Decode(&u); err != nil || u.SessionID != sessions[i] {
			t.Errorf("login %d: session %q (%v), want %q", i, u.SessionID, err, sessions[i])
		}
	}
}

// sessionOf returns the session ID of token, as auth's events name it.
func sessionOf(t *testing.T, svc *auth.Service, token string) string {
	t.Helper()
	id, err := svc.SessionOf(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A login while the NATS server is down opens its session at once; its
// user:login (and its scheduled session:expired) wait in the outbox, not
// in a client buffer, and user:login reaches the mesh once when the
// server is back.
func TestLoginDuringMeshOutage(t *testing.T) {
	svc, client, srv := start(t)
	ctx := t.Context()
	rec := logins(t, srv)
	srv.Shutdown()

	token, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the relay keeps user:login and session:expired and reports its failures", func() bool {
		st := svc.Outbox().Stats()
		return st.Pending == 2 && st.Failures > 0
	})
	srv.Restart(t)
	barrier, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	loggedInOnce(t, rec, sessionOf(t, svc, token), sessionOf(t, svc, barrier))
	testutil.WaitUntil(t, "the session opened during the outage is valid to other services once they reconnect", func() bool {
		reply, err := client.Request(ctx, auth.Name, auth.SessionValidate, auth.SessionQuery{Token: token})
		var info auth.SessionInfo
		return err == nil && reply.Decode(&info) == nil && info == auth.SessionInfo{Valid: true, UserID: "ana"}
	})
}

// A login rolled back after its events were written in the transaction
// opens no session and emits nothing.
func TestRolledBackLoginEmitsNothing(t *testing.T) {
	svc, client, srv := start(t)
	ctx := t.Context()
	rec := logins(t, srv)
	token, err := svc.LoginAndRollBack(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if got := validate(t, client, token); got.Valid {
		t.Errorf("the rolled-back session is valid: %+v", got)
	}
	barrier, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	loggedInOnce(t, rec, sessionOf(t, svc, barrier))
	testutil.WaitUntil(t, "the relay published the barrier's user:login and its schedule, nothing else", func() bool {
		st := svc.Outbox().Stats()
		return st.Published == 2 && st.Pending == 0
	})
}

// Each session's session:expired, scheduled at login through the outbox,
// fires at the session's end, when the session stops being valid.
func TestSessionExpires(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	const ttl = time.Second
	svc := register(t, testutil.Connect(t, srv, auth.Name), filepath.Join(t.TempDir(), "auth.db"), ttl)
	client := testutil.Connect(t, srv, "exprsn-spark")
	ctx := t.Context()
	expired, users := testutil.NewRecorder(), testutil.NewRecorder()
	for pattern, rec := range map[string]*testutil.Recorder{auth.SessionExpired: expired, auth.UserLogin: users} {
		if _, err := client.On(ctx, pattern, rec); err != nil {
			t.Fatal(err)
		}
	}
	loggedIn := time.Now()
	token, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	var login, end auth.UserEvent
	if err := users.WaitN(t, 1, 0)[0].Decode(&login); err != nil {
		t.Fatal(err)
	}
	if got := validate(t, client, token); !got.Valid {
		t.Errorf("the session is not valid before its end: %+v", got)
	}

	ev := expired.WaitN(t, 1, 0)[0]
	if err := ev.Decode(&end); err != nil || end != login {
		t.Errorf("session:expired for %+v (%v), want the login's %+v", end, err, login)
	}
	if since := time.Since(loggedIn); since < ttl {
		t.Errorf("session:expired fired %v after the login, before the session's end (%v)", since, ttl)
	}
	if _, scheduled := ev.Extension("scheduledtime"); !strings.HasPrefix(ev.ID, auth.SessionExpired+"/"+login.SessionID+"@") || ev.Source != auth.Name || !scheduled {
		t.Errorf("session:expired is %s from %s, want a firing of %s/%s from %s", ev.ID, ev.Source, auth.SessionExpired, login.SessionID, auth.Name)
	}
	if got := validate(t, client, token); got.Valid {
		t.Errorf("the session is valid after its end: %+v", got)
	}
}

// A session its user logged out of does not also expire: Logout cancels
// its session:expired in the transaction that closes it.
func TestLogoutCancelsExpiry(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	const ttl = time.Second
	svc := register(t, testutil.Connect(t, srv, auth.Name), filepath.Join(t.TempDir(), "auth.db"), ttl)
	client := testutil.Connect(t, srv, "exprsn-spark")
	ctx := t.Context()
	expired := testutil.NewRecorder()
	if _, err := client.On(ctx, auth.SessionExpired, expired); err != nil {
		t.Fatal(err)
	}
	token, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	ended := sessionOf(t, svc, token)
	if err := svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	// A later session's expiry is the barrier: the server fires schedules
	// in the order of their times, so the first session's would come
	// before it.
	barrier, err := svc.Login(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	kept := sessionOf(t, svc, barrier)
	expired.WaitN(t, 1, 0)
	for _, ev := range expired.Events() {
		var u auth.UserEvent
		if err := ev.Decode(&u); err != nil || u.SessionID != kept {
			t.Errorf("session:expired of session %q (%v), want only the barrier's %q, not the logged-out %q", u.SessionID, err, kept, ended)
		}
	}
}
