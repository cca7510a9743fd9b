package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestEventsStreamFiltersByPattern: /api/ipc/events?event=order:* serves
// the matching events of every target, numbered with their stream
// sequence, and only those; a reconnect with Last-Event-ID resumes after
// it.
func TestEventsStreamFiltersByPattern(t *testing.T) {
	f := setup(t, Actions{})
	s := openStream(t, f.url+"/api/ipc/events?event="+url.QueryEscape("order:*"), nil)
	require.Equal(t, "ok", s.nextAny(t).comment, "edge's opening comment: the stream is in the feed")

	orders := testutil.Connect(t, f.srv, "orders")
	ctx := t.Context()
	require.NoError(t, orders.Emit(ctx, "order:created", map[string]int{"n": 1}))
	require.NoError(t, orders.Emit(ctx, "user:login", nil))
	require.NoError(t, orders.Emit(ctx, "order:paid", map[string]int{"n": 2}, mesh.To("billing")))
	require.NoError(t, orders.Emit(ctx, "order:item:added", nil))
	require.NoError(t, orders.Emit(ctx, "order:shipped", nil))

	var got []string
	for len(got) < 3 {
		m := s.next(t)
		ce := decode[struct{ Type, Source string }](t, m.data)
		require.Equal(t, ce.Type, m.event)
		require.Equal(t, "orders", ce.Source)
		got = append(got, m.id+" "+m.event)
	}
	require.Equal(t, []string{"1 order:created", "3 order:paid", "5 order:shipped"}, got)

	// Resume: from sequence 1, what followed and matches.
	again := openStream(t, f.url+"/api/ipc/events?event="+url.QueryEscape("order:*"), map[string]string{"Last-Event-ID": "1"})
	for _, want := range []string{"3 order:paid", "5 order:shipped"} {
		m := again.next(t)
		require.Equal(t, want, m.id+" "+m.event)
	}
}

// TestEventsPatternIsChecked: a bad pattern is refused with 400 and why,
// before any stream opens.
func TestEventsPatternIsChecked(t *testing.T) {
	f := setup(t, Actions{})
	for _, tc := range []struct{ name, query, want string }{
		{"empty segment", "event=order::created", `segment 2 "": empty`},
		{"> not last", "event=" + url.QueryEscape("order:>:x"), "'>' must be the last segment"},
		{"dot", "event=order.created", "order.created"},
		{"too long", "event=" + strings.Repeat("a", subjects.MaxEventLen+1), "longer than " + strconv.Itoa(subjects.MaxEventLen) + " bytes"},
		{"two patterns", "event=a&event=b", "give one event pattern"},
		{"empty", "event=", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.call(t, http.MethodGet, "/api/ipc/events?"+tc.query, nil)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Contains(t, decode[map[string]string](t, body)["error"], tc.want)
			require.Contains(t, body, "dashboard: ")
		})
	}
}

// TestEventsFeedOnlyWhileWatched: the events stream's ordered consumer
// exists while a stream is open, and is gone after the last one leaves; the
// dashboard's Close ends open streams with edge's shutdown message.
func TestEventsFeedOnlyWhileWatched(t *testing.T) {
	f := setup(t, Actions{})
	consumers := func() int {
		s, err := f.w.JetStream().Stream(t.Context(), subjects.EventStream("ipc"))
		require.NoError(t, err)
		info, err := s.Info(t.Context())
		require.NoError(t, err)
		return info.State.Consumers
	}
	require.Zero(t, consumers())
	first := openStream(t, f.url+"/api/ipc/events", nil)
	first.nextAny(t)
	require.Equal(t, 1, consumers())
	first.resp.Body.Close()
	require.Eventually(t, func() bool { return consumers() == 0 }, testutil.DefaultWait, 10*time.Millisecond)

	second := openStream(t, f.url+"/api/ipc/events", nil)
	second.nextAny(t)
	require.NoError(t, f.d.Close(t.Context()))
	m := second.next(t)
	require.Equal(t, edge.DroppedEvent, m.event)
	require.JSONEq(t, `{"reason": "shutdown"}`, m.data)
	second.ended(t)
	code, _ := f.call(t, http.MethodGet, "/api/ipc/events", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
}

func TestSubjectMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, subject string
		want            bool
	}{
		{"ipc.*.order.*", "ipc.all.order.created", true},
		{"ipc.*.order.*", "ipc.billing.order.paid", true},
		{"ipc.*.order.*", "ipc.all.order", false},
		{"ipc.*.order.*", "ipc.all.order.item.added", false},
		{"ipc.*.order.*", "ipc.all.user.login", false},
		{"ipc.*.>", "ipc.all.user.login", true},
		{"ipc.*.>", "ipc.all", false},
		{"ipc.*.order.>", "ipc.all.order.item.added", true},
		{"ipc.*.order.>", "ipc.all.order", false},
		{"ipc.*.order.created", "ipc.all.order.created", true},
		{"ipc.*.order.created", "other.all.order.created", false},
	} {
		require.Equal(t, tc.want, subjectMatches(strings.Split(tc.filter, "."), tc.subject), "%s ~ %s", tc.filter, tc.subject)
	}
}
