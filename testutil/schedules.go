package testutil

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// WaitScheduleGone waits until namespace ns's schedule stream holds
// nothing on the subject of schedule key: the schedule fired (one-time)
// or its cancel's marker expired (about a second after schedules.Cancel),
// so that cancelling it again reports it not found.
func WaitScheduleGone(t testing.TB, js jetstream.JetStream, ns, key string) {
	t.Helper()
	subject := subjects.ScheduleSubject(ns, key)
	WaitUntil(t, "nothing left on "+subject, func() bool {
		stream, err := js.Stream(context.Background(), subjects.ScheduleStream(ns))
		if err != nil {
			return false
		}
		info, err := stream.Info(context.Background(), jetstream.WithSubjectFilter(subject))
		return err == nil && info.State.Subjects[subject] == 0
	})
}
