package main

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// failing connects service with a durable handler for event that fails
// permanently while fail is set, recording every event it gets.
func failing(t *testing.T, s *testutil.Server, service, event string, fail *atomic.Bool) *testutil.Recorder {
	t.Helper()
	rec := testutil.NewRecorder()
	w := testutil.Connect(t, s, service, mesh.Config{Logger: slog.New(slog.DiscardHandler)})
	_, err := w.OnDurable(context.Background(), event, mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = rec.HandleEvent(ctx, ev)
		if fail.Load() {
			return mesh.Permanent(errors.New("smtp is down"))
		}
		return nil
	}))
	require.NoError(t, err)
	return rec
}

var dlqRow = regexp.MustCompile(`(?m)^(\d+) +\S+ +(\S+) +\S+ +(\S+) +(\S+) +1 +permanent: smtp is down$`)

func TestDeadLetters(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	var fail atomic.Bool
	fail.Store(true)
	mailer := failing(t, s, "mailer", "mail:send", &fail)
	sms := failing(t, s, "sms", "sms:send", &fail)
	sender := testutil.Connect(t, s, "exprsn-herald")
	ctx := context.Background()
	for _, e := range []struct{ event, to string }{{"mail:send", "mailer"}, {"mail:send", "mailer"}, {"sms:send", "sms"}, {"sms:send", "sms"}} {
		require.NoError(t, sender.Emit(ctx, e.event, map[string]string{"to": "ada"}, mesh.To(e.to)))
	}
	mailer.WaitN(t, 2, 0)
	sms.WaitN(t, 2, 0)
	dl := deadletter.New(sender.JetStream(), "ipc")
	require.Eventually(t, func() bool {
		list, err := dl.List(ctx, "", 1, 0)
		return err == nil && len(list) == 4
	}, testutil.DefaultWait, 10*time.Millisecond)

	list := succeed(t, "dlq", "list", "--server", s.URL())
	rows := dlqRow.FindAllStringSubmatch(list, -1)
	require.Len(t, rows, 4, list)
	var mail [][]string // the services fail in any order
	for _, row := range rows {
		if row[2] == "mailer" {
			require.Equal(t, "mail:send", row[3])
			mail = append(mail, row)
		}
	}
	require.Len(t, mail, 2, list)
	only := succeed(t, "dlq", "list", "--service", "sms", "--server", s.URL())
	require.Len(t, dlqRow.FindAllString(only, -1), 2, only)

	first, firstEventID := mail[0][1], mail[0][4]
	show := succeed(t, "dlq", "show", first, "--server", s.URL())
	for _, want := range []string{"service          mailer", "reason           permanent: smtp is down", "event            mail:send",
		"event id         " + firstEventID, "source           exprsn-herald", `data             {"to":"ada"}`, "subject          ipc.mailer.mail.send"} {
		require.Contains(t, show, want)
	}

	fail.Store(false)
	require.Equal(t, "re-drove 1 of 1 dead letters\n", succeed(t, "dlq", "redrive", first, "--server", s.URL()))
	got := mailer.WaitN(t, 3, 0)[2]
	require.Equal(t, firstEventID, got.ID)
	require.True(t, got.Replayed)
	require.Equal(t, "re-drove 1 of 1 dead letters\n", succeed(t, "dlq", "redrive", "--all", "--service", "mailer", "--server", s.URL()))
	mailer.WaitN(t, 4, 0)

	require.Equal(t, "purged 2 dead letters of all services\n", succeed(t, "dlq", "purge", "--server", s.URL()))
	require.Equal(t, "no dead letters\n", succeed(t, "dlq", "list", "--server", s.URL()))
	require.Equal(t, 2, sms.Len(), "purged dead letters are not sent")

	r := meshctl(t, "dlq", "show", first, "--server", s.URL())
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "not found")
	r = meshctl(t, "dlq", "redrive", "--server", s.URL())
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "or --all")
}
