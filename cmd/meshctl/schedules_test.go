package main

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/render"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// scheduledLine is emit's output for a scheduled event: its id, when, its
// schedule's key.
var scheduledLine = regexp.MustCompile(`^id (\S+) scheduled (.+), schedule ([A-Za-z0-9_-]{22})(, kept \S+)?\n$`)

// emitScheduled runs meshctl emit with args and returns the id and the
// schedule key it printed.
func emitScheduled(t *testing.T, args ...string) (id, key string) {
	t.Helper()
	out := succeed(t, append([]string{"emit"}, args...)...)
	m := scheduledLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return m[1], m[3]
}

// scheduleRow matches a row of schedules list: key, event, target, next,
// recurs, source, id.
var scheduleRow = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]{22}) +(\S+) +(\S+) +(\S+) +(.+?) +(\S+) +(\S+)$`)

// TestScheduleListCancelFromTheCLI schedules an event with emit --in,
// lists it, cancels it, and checks that it never fires: a marker
// scheduled later fires, and the cancelled event has not.
func TestScheduleListCancelFromTheCLI(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	herald := testutil.Connect(t, s, "exprsn-herald")
	live, durable := testutil.NewRecorder(), testutil.NewRecorder()
	ctx := context.Background()
	_, err := herald.On(ctx, "reminder:*", live)
	require.NoError(t, err)
	_, err = herald.OnDurable(ctx, "reminder:*", durable)
	require.NoError(t, err)

	before := time.Now()
	id, key := emitScheduled(t, "reminder:due", `{"post":"p1"}`, "--to", "exprsn-herald", "--in", "3s", "--server", s.URL())
	require.Equal(t, subjects.DuplicateKey(defaultSource, id), key)

	list := succeed(t, "schedules", "list", "--server", s.URL())
	rows := scheduleRow.FindAllStringSubmatch(list, -1)
	require.Len(t, rows, 1, list)
	row := rows[0]
	require.Equal(t, []string{key, "reminder:due", "exprsn-herald"}, row[1:4], list)
	require.Equal(t, []string{"-", defaultSource, id}, row[5:8], list)
	next, err := time.Parse(time.RFC3339, row[4])
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(3*time.Second), next, 2*time.Second)

	require.Equal(t, "no pending schedules\n", succeed(t, "schedules", "list", "--event", "post:*", "--server", s.URL()))
	require.Equal(t, "no pending schedules\n", succeed(t, "schedules", "list", "--to", "all", "--server", s.URL()))
	require.Len(t, scheduleRow.FindAllString(succeed(t, "schedules", "list", "--event", "reminder:*",
		"--to", "exprsn-herald", "--server", s.URL()), -1), 1)
	var views []render.ScheduleView
	require.NoError(t, json.Unmarshal([]byte(succeed(t, "schedules", "list", "--json", "--server", s.URL())), &views))
	require.Len(t, views, 1)
	require.Equal(t, "ipc.exprsn-herald.reminder.due", views[0].Subject)
	require.False(t, views[0].Recurring)

	require.Equal(t, "cancelled schedule "+key+": reminder:due to exprsn-herald from meshctl (id "+id+")\n",
		succeed(t, "schedules", "cancel", "--server", s.URL(), "--", key))
	require.Equal(t, "no pending schedules\n", succeed(t, "schedules", "list", "--server", s.URL()))
	r := meshctl(t, "schedules", "cancel", "--server", s.URL(), "--", key)
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, "no such pending schedule in namespace ipc")

	// The marker fires after the cancelled event's time; by then, the
	// cancelled event would have reached both handlers.
	emitScheduled(t, "reminder:marker", "--to", "exprsn-herald", "--in", "4s", "--server", s.URL())
	for name, rec := range map[string]*testutil.Recorder{"live": live, "durable": durable} {
		got := rec.WaitN(t, 1, 0)
		require.Equal(t, "reminder:marker", got[0].Type, name)
		require.False(t, time.Now().Before(before.Add(4*time.Second)), name)
		require.Equal(t, 1, rec.Len(), "%s: the cancelled event fired", name)
	}
}

// TestCancelByIDOrSubject cancels schedules by their event's id and by
// their schedule subject, and a recurring one.
func TestCancelByIDOrSubject(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	ctx := context.Background()
	w := testutil.Connect(t, s, "exprsn-herald")
	r, err := w.EmitWithReceipt(ctx, "reminder:due", nil, mesh.After(time.Hour), mesh.WithID("nudge/p1"))
	require.NoError(t, err)
	other := testutil.Connect(t, s, "exprsn-auth")
	_, err = other.EmitWithReceipt(ctx, "session:expired", nil, mesh.After(time.Hour), mesh.WithID("nudge/p1"))
	require.NoError(t, err)
	_, key := emitScheduled(t, "digest:daily", "--every", "1h", "--ttl", "1m", "--server", s.URL())

	list := succeed(t, "schedules", "list", "--server", s.URL())
	require.Regexp(t, `(?m)^`+key+` +digest:daily +all +\S+ +every 1h0m0s +meshctl `, list)

	res := meshctl(t, "schedules", "cancel", "nudge/p1", "--server", s.URL())
	require.Equal(t, 1, res.code)
	requireOneErrorLine(t, res.stderr, "names schedules of several services")
	out := succeed(t, "schedules", "cancel", "nudge/p1", "--source", "exprsn-auth", "--server", s.URL())
	require.Contains(t, out, "session:expired to all from exprsn-auth (id nudge/p1)")
	out = succeed(t, "schedules", "cancel", r.Subject, "--server", s.URL())
	require.Contains(t, out, "reminder:due to all from exprsn-herald")
	succeed(t, "schedules", "cancel", "--server", s.URL(), "--", key)
	list2, err := schedules.List(ctx, w.JetStream(), "ipc")
	require.NoError(t, err)
	require.Empty(t, list2)
}

// TestEmitSchedulingFlags checks emit's output for each form of schedule
// and a TTL, and its errors for conflicting or bad flags.
func TestEmitSchedulingFlags(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	bare := testutil.StartServer(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	for _, tt := range []struct {
		args []string
		want string // in the line after "scheduled "
	}{
		{[]string{"--at", at}, "for " + at},
		{[]string{"--every", "90s"}, "every 1m30s"},
		{[]string{"--cron", "0 30 9 * * 1-5", "--tz", "Europe/Paris"}, `on cron "0 30 9 * * 1-5" in Europe/Paris`},
		{[]string{"--cron", "@daily"}, `on cron "@daily" in UTC`},
	} {
		out := succeed(t, append([]string{"emit", "x:y", "--server", s.URL()}, tt.args...)...)
		m := scheduledLine.FindStringSubmatch(out)
		require.NotNil(t, m, out)
		require.Equal(t, tt.want, m[2])
	}
	require.Regexp(t, `^id \S+ sequence \d+, kept 30s\n$`, succeed(t, "emit", "user:status", "--ttl", "30s", "--server", s.URL()))

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"two schedules", []string{"--at", at, "--in", "1m"}, "[at in] were all set"},
		{"bad time", []string{"--at", "tomorrow"}, `--at "tomorrow": want an RFC 3339 time`},
		{"zero in", []string{"--in", "0s"}, "--in 0s: want a positive duration"},
		{"negative every", []string{"--every", "-1s"}, "--every -1s: want a positive duration"},
		{"sub-second every", []string{"--every", "500ms", "--server", s.URL()}, "want at least 1s"},
		{"empty cron", []string{"--cron", " "}, "--cron: want a cron expression"},
		{"bad cron", []string{"--cron", "not a cron", "--server", s.URL()}, "schedules pattern is invalid"},
		{"zone without cron", []string{"--in", "1m", "--tz", "UTC"}, "--tz goes with --cron"},
		{"bad zone", []string{"--cron", "@hourly", "--tz", "Mars/Olympus", "--server", s.URL()}, "Mars/Olympus"},
		{"zero TTL", []string{"--ttl", "0s"}, "--ttl 0s: want a positive duration"},
		{"sub-second TTL", []string{"--ttl", "10ms", "--server", s.URL()}, "want at least 1s"},
		{"no streams", []string{"--in", "1m", "--server", bare.URL()}, "meshctl serve and meshctl setup create the namespace's streams"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := meshctl(t, append([]string{"emit", "x:y"}, tt.args...)...)
			require.Equal(t, 1, r.code, "stdout: %s", r.stdout)
			require.Empty(t, r.stdout)
			requireOneErrorLine(t, r.stderr, tt.want)
		})
	}
}

func TestNextFiring(t *testing.T) {
	created := time.Date(2025, 6, 1, 12, 0, 0, 400e6, time.UTC)
	base := created.Round(time.Second) // the server counts from the second
	at := created.Add(time.Hour)
	every := schedules.Schedule{Pattern: "@every 10s", Created: created}
	for _, tt := range []struct {
		name string
		s    schedules.Schedule
		now  time.Time
		want time.Time
	}{
		{"one-time", schedules.Schedule{Pattern: "@at x", At: at}, created, at},
		{"every, first", every, created, base.Add(10 * time.Second)},
		{"every, later", every, created.Add(25 * time.Second), base.Add(30 * time.Second)},
		{"every, on time", every, base.Add(20 * time.Second), base.Add(20 * time.Second)},
		{"cron", schedules.Schedule{Pattern: "@hourly", Created: created}, created, time.Time{}},
	} {
		require.Equal(t, tt.want, render.NextFiring(tt.s, tt.now), tt.name)
	}
}

func TestSchedulesHelp(t *testing.T) {
	require.Contains(t, succeed(t, "--help"), "\n  schedules ")
	for _, cmd := range [][]string{{"schedules"}, {"schedules", "list"}, {"schedules", "cancel"}} {
		help := succeed(t, append(cmd, "--help")...)
		require.Contains(t, help, "Examples:", cmd)
		require.Contains(t, help, "--namespace", cmd)
	}
	require.Contains(t, succeed(t, "emit", "--help"), "--cron")
	r := meshctl(t, "schedules", "bogus")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, `unknown command "bogus" for "meshctl schedules"`)
}
