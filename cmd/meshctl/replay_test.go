package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// emitStored emits n events named by event(i) as w, with ids
// "<batch>-<i>", waiting until the stream has stored them all, and returns
// their ids.
func emitStored(t *testing.T, w *mesh.Worker, batch string, n int, event func(i int) string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	ids := make([]string, n)
	acks := make([]*mesh.AsyncEmit, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%d", batch, i)
		a, err := w.EmitAsync(ctx, event(i), map[string]int{"n": i}, mesh.WithID(ids[i]))
		require.NoError(t, err)
		acks[i] = a
	}
	for _, a := range acks {
		if _, err := a.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("emits not acknowledged in time")
			}
			t.Fatalf("emit not stored: %v", err)
		}
	}
	return ids
}

// TestReplayToAnOfflineService replays a 10,000-event range, filtered by
// --since and --event, to a service that was offline while it was emitted:
// the service receives exactly the matching events, once each.
func TestReplayToAnOfflineService(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	shop := testutil.Connect(t, s, "shop")
	// 2,000 matching events before the --since time, then 8,000 of which
	// every other one matches --event.
	emitStored(t, shop, "before", 2000, func(int) string { return "order:created" })
	since := time.Now()
	ids := emitStored(t, shop, "after", 8000, func(i int) string {
		if i%2 == 0 {
			return "order:created"
		}
		return "user:login"
	})
	var want []string
	for i, id := range ids {
		if i%2 == 0 {
			want = append(want, id)
		}
	}

	rec := testutil.NewRecorder()
	billing := testutil.Connect(t, s, "billing", mesh.Config{MaxConcurrent: 1}) // in arrival order
	_, err := billing.On(context.Background(), "order:*", rec)
	require.NoError(t, err)
	clock := func(a *app) { a.now = func() time.Time { return since.Add(time.Hour) } }
	args := []string{"replay", "--server", s.URL(), "--since", "1h", "--event", "order:*", "--to", "billing"}

	r := meshctlWith(t, clock, append(args, "--dry-run")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "dry run: would re-deliver to billing the events of stream MESH_ipc matching order:*")
	require.Contains(t, r.stdout, "matched 4000 events; nothing sent")

	r = meshctlWith(t, clock, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "matched 4000, delivered 4000, failed 0\n", r.stdout)

	// Anything replayed arrives before a later event on the same subscription.
	require.NoError(t, shop.Emit(context.Background(), "order:sentinel", nil, mesh.To("billing")))
	rec.WaitType(t, "order:sentinel", 0)
	var got []string
	for _, ev := range rec.Events() {
		if ev.Type == "order:created" {
			require.True(t, ev.Replayed, ev.ID)
			require.Equal(t, "billing", ev.Target)
			got = append(got, ev.ID)
		}
	}
	require.Equal(t, want, got, "each matching event once, in stream order")
}

func TestReplayOutWritesJSONLines(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, s, "exprsn-timeline")
	ctx := context.Background()
	type sent struct{ id, event, target, data string }
	var all []sent
	for i := range 30 {
		ev := sent{id: fmt.Sprintf("ev-%d", i), event: "post:created", target: "all", data: fmt.Sprintf(`{"n":%d}`, i)}
		opts := []mesh.EmitOption{mesh.WithID(ev.id)}
		if i%3 == 0 {
			ev.event, ev.target = "post:liked", "exprsn-spark"
			opts = append(opts, mesh.To(ev.target))
		}
		require.NoError(t, w.Emit(ctx, ev.event, []byte(ev.data), append(opts, mesh.WithContentType("application/json"))...))
		all = append(all, ev)
	}
	out := filepath.Join(t.TempDir(), "events.jsonl")
	r := meshctl(t, "replay", "--server", s.URL(), "--from-seq", "1", "--until", "30", "--out", out)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "matched 30, written 30, failed 0\n", r.stdout)
	f, err := os.Open(out)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	events, err := replay.ReadJSONLines(f)
	require.NoError(t, err)
	require.Len(t, events, len(all))
	for i, ev := range events {
		require.Equal(t, all[i].id, ev.ID)
		require.Equal(t, all[i].event, ev.Type)
		require.Equal(t, "exprsn-timeline", ev.Source)
		require.JSONEq(t, all[i].data, string(ev.Data))
		require.False(t, ev.Time.IsZero())
	}

	// Filters, to standard output; the summary goes to stderr.
	r = meshctl(t, "replay", "--server", s.URL(), "--target", "exprsn-spark", "--out", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "matched 10, written 10, failed 0\n", r.stderr)
	events, err = replay.ReadJSONLines(strings.NewReader(r.stdout))
	require.NoError(t, err)
	require.Len(t, events, 10)
	for _, ev := range events {
		require.Equal(t, "post:liked", ev.Type)
	}
}

func TestReplayFlags(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		until    string
		wantSeq  uint64
		wantTime time.Time
		wantErr  string
	}{
		{name: "sequence", until: "5000", wantSeq: 5000},
		{name: "duration ago", until: "30m", wantTime: now.Add(-30 * time.Minute)},
		{name: "time", until: "2025-05-31T00:00:00Z", wantTime: time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)},
		{name: "negative duration", until: "-5m", wantErr: "positive"},
		{name: "nonsense", until: "yesterday", wantErr: "want a stream sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, until, err := parseUntil(tt.until, now)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantSeq, seq)
			require.True(t, tt.wantTime.Equal(until), until)
		})
	}
	for in, want := range map[string]float64{"": 0, "100": 100, "2.5/s": 2.5} {
		got, err := parseRate(in)
		require.NoError(t, err)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "-1/s", "fast", "10/m"} {
		_, err := parseRate(in)
		require.ErrorContains(t, err, "--rate", in)
	}
}
