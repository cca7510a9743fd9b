package spark_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
)

// TestStatusExpiresFromTheStream reports a status with a one-second TTL:
// spark's instances get it live at once; the event stream drops it after
// its TTL, while a login emitted after it stays; and a durable handler
// that starts then gets the login alone.
func TestStatusExpiresFromTheStream(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	handled := testutil.NewRecorder()
	w := testutil.Connect(t, srv, spark.Name, mesh.Config{Middleware: []mesh.Middleware{handled.Middleware()}})
	svc, err := spark.RegisterWith(t.Context(), w, spark.Options{StatusTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if err := svc.ReportStatus(ctx, spark.Status{UserID: "ana", Status: "typing"}); err != nil {
		t.Fatal(err)
	}
	handled.WaitType(t, spark.UserStatus, 0)
	if got := svc.Status("ana"); got != "typing" {
		t.Errorf("status of ana %q, want typing", got)
	}
	login, err := testutil.Connect(t, srv, auth.Name).EmitWithReceipt(ctx, auth.UserLogin, auth.UserEvent{UserID: "ben"})
	if err != nil {
		t.Fatal(err)
	}

	events, err := w.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	status, err := subjects.Subject("ipc", subjects.Broadcast, spark.UserStatus)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testutil.DefaultWait)
	for {
		_, err := events.GetLastMsgForSubject(ctx, status)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the status is still stored (%v)", err)
		}
		<-time.After(50 * time.Millisecond)
	}
	if _, err := events.GetMsg(ctx, login.Sequence); err != nil {
		t.Fatalf("the login, without a TTL, is gone: %v", err)
	}

	late := testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, "exprsn-audit").OnDurable(ctx, "user:*", late, mesh.StartAtFirst()); err != nil {
		t.Fatal(err)
	}
	if got := late.WaitN(t, 1, 0)[0]; got.Type != auth.UserLogin {
		t.Errorf("the late durable handler got %s first, want %s: the status expired", got.Type, auth.UserLogin)
	}
	if n := late.Len(); n != 1 {
		t.Errorf("the late durable handler got %d events, want the login alone", n)
	}
}

func TestReportStatusRefusesBadStatus(t *testing.T) {
	srv := testutil.StartServer(t)
	svc := start(t, srv)
	for _, st := range []spark.Status{{Status: "online"}, {UserID: "ana"}, {UserID: "ana", Status: string(make([]byte, spark.MaxStatusLen+1))}} {
		if err := svc.ReportStatus(context.Background(), st); !errors.Is(err, spark.ErrInvalidStatus) {
			t.Errorf("status %+v: %v, want spark.ErrInvalidStatus", st, err)
		}
	}
}
