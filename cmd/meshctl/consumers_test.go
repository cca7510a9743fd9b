package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/consumers"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The consumers of the tests' handlers, named by mesh's default.
const (
	heraldConsumer   = "exprsn-herald_mail_send_9a2a7ea2"
	timelineConsumer = "exprsn-timeline_post_created_e213791"
)

// connectTo connects a worker for service to the server at url, closed
// with the test; its logs are discarded.
func connectTo(t *testing.T, url, service string) *mesh.Worker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w, err := mesh.Connect(ctx, mesh.Config{Service: service, Servers: []string{url}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		require.NoError(t, w.Close(ctx))
	})
	return w
}

// holding registers on w a durable handler for pattern that holds every
// event it gets until release is called (at the latest when the test
// ends, before w closes), and records the events it gets in rec.
func holding(t *testing.T, w *mesh.Worker, pattern string, rec *testutil.Recorder, opts ...mesh.DurableOption) (release func()) {
	t.Helper()
	hold := make(chan struct{})
	release = sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // runs before w's Close, registered earlier
	_, err := w.OnDurable(context.Background(), pattern, mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = rec.HandleEvent(ctx, ev)
		select {
		case <-hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), opts...)
	require.NoError(t, err)
	return release
}

// listConsumers runs meshctl consumers list --json with args.
func listConsumers(t *testing.T, args ...string) []consumers.Consumer {
	t.Helper()
	var list []consumers.Consumer
	out := succeed(t, append([]string{"consumers", "list", "--json"}, args...)...)
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	return list
}

// consumerNamed returns the consumer named handler in list, or nil.
func consumerNamed(list []consumers.Consumer, handler string) *consumers.Consumer {
	for i := range list {
		if list[i].Handler == handler {
			return &list[i]
		}
	}
	return nil
}

// waitConsumer waits until the server shows the consumer handler and cond
// holds for it, and returns it.
func waitConsumer(t *testing.T, url, handler string, cond func(c consumers.Consumer) bool) consumers.Consumer {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var last *consumers.Consumer
	ok := assert.Eventually(t, func() bool {
		list, err := consumers.List(context.Background(), js, "ipc", "")
		if err != nil {
			return false
		}
		last = consumerNamed(list, handler)
		return last != nil && cond(*last)
	}, testutil.DefaultWait, 5*time.Millisecond)
	if !ok {
		t.Fatalf("consumer %s never met the condition; last seen: %+v", handler, last)
	}
	return *last
}

// row matches a row of meshctl consumers list; figures are pending, ack
// pending, redelivered and lag, paused a regular expression.
func row(service, handler, pattern, figures, paused string) *regexp.Regexp {
	f := strings.Join(strings.Fields(figures), ` +`)
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(service) + ` +` + regexp.QuoteMeta(handler) + ` +` +
		regexp.QuoteMeta(pattern) + ` +` + f + ` +` + paused + `$`)
}

// TestConsumersList: a handler that holds its events shows them as ack
// pending, one whose instances are gone as pending, one whose first try
// failed as redelivered; lag is pending + ack pending, and counts only the
// handler's own events; a consumer made by something else is listed with
// service "?".
func TestConsumersList(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	url := s.URL()
	ctx := context.Background()
	require.Equal(t, "no consumers\n", succeed(t, "consumers", "list", "--server", url))

	herald := connectTo(t, url, "exprsn-herald")
	held := testutil.NewRecorder()
	release := holding(t, herald, "mail:send", held)

	timeline := connectTo(t, url, "exprsn-timeline")
	sub, err := timeline.OnDurable(ctx, "post:created", testutil.NewRecorder())
	require.NoError(t, err)
	require.NoError(t, sub.Off(ctx)) // offline: its consumer stays

	retrier := connectTo(t, url, "exprsn-retry")
	tried := testutil.NewRecorder()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	_, err = retrier.OnDurable(ctx, "job:run", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = tried.HandleEvent(ctx, ev)
		if ev.Deliveries == 1 {
			return errors.New("not yet")
		}
		select { // the retry waits: it stays redelivered and ack pending
		case <-hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), mesh.Backoff(10*time.Millisecond), mesh.DurableName("retrier"))
	require.NoError(t, err)

	sender := connectTo(t, url, "exprsn-web")
	_, err = sender.JetStream().CreateConsumer(ctx, "MESH_ipc", jetstream.ConsumerConfig{Durable: "audit", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	emit := func(n int, event, to string) {
		for range n {
			require.NoError(t, sender.Emit(ctx, event, map[string]string{"to": "ada"}, mesh.To(to)))
		}
	}
	emit(3, "mail:send", "exprsn-herald")
	emit(2, "post:created", "exprsn-timeline")
	emit(4, "user:login", "exprsn-auth") // nobody's: no consumer's lag
	emit(1, "job:run", "exprsn-retry")

	held.WaitN(t, 1, 0)
	tried.WaitN(t, 2, 0)
	waitConsumer(t, url, heraldConsumer, func(c consumers.Consumer) bool { return c.AckPending == 3 })
	waitConsumer(t, url, "retrier", func(c consumers.Consumer) bool { return c.Redelivered == 1 })

	table := succeed(t, "consumers", "list", "--server", url)
	require.Regexp(t, `^SERVICE +HANDLER +PATTERN +PENDING +ACK PENDING +REDELIVERED +LAG +PAUSED\n`, table)
	require.Regexp(t, row("?", "audit", "-", "10 0 0 10", "-"), table)
	require.Regexp(t, row("exprsn-herald", heraldConsumer, "mail:send", "0 3 0 3", "-"), table)
	require.Regexp(t, row("exprsn-retry", "retrier", "job:run", "0 1 1 1", "-"), table)
	require.Regexp(t, row("exprsn-timeline", timelineConsumer, "post:created", "2 0 0 2", "-"), table)
	require.Equal(t, 5, strings.Count(table, "\n"), table)
	require.Less(t, strings.Index(table, "audit"), strings.Index(table, heraldConsumer), "by service: ? first")
	require.Less(t, strings.Index(table, heraldConsumer), strings.Index(table, timelineConsumer))

	only := succeed(t, "consumers", "list", "--service", "exprsn-timeline", "--server", url)
	require.Regexp(t, row("exprsn-timeline", timelineConsumer, "post:created", "2 0 0 2", "-"), only)
	require.Equal(t, 2, strings.Count(only, "\n"), only)
	require.Equal(t, "no consumers of service nobody\n", succeed(t, "consumers", "list", "--service", "nobody", "--server", url))
	list := listConsumers(t, "--service", "exprsn-herald", "--server", url)
	require.Len(t, list, 1)
	c := list[0]
	require.Equal(t, consumers.Consumer{
		Service: "exprsn-herald", Handler: heraldConsumer, Pattern: "mail:send", AckPending: 3, Lag: 3,
		DeliveredSeq: 3, WaitingPulls: c.WaitingPulls, LastDelivered: c.LastDelivered, Created: c.Created,
	}, c)
	require.Equal(t, "[]\n", succeed(t, "consumers", "list", "--json", "--service", "nobody", "--server", url))

	info := succeed(t, "consumers", "info", heraldConsumer, "--server", url)
	for _, want := range []string{
		"handler          " + heraldConsumer, "service          exprsn-herald", "pattern          mail:send",
		"description      ipcmesh: exprsn-herald handler for mail:send", "stream           MESH_ipc",
		"filters          ipc.exprsn-herald.mail.send, ipc.all.mail.send", "paused           -",
		"pending          0 (not yet delivered)", "ack pending      3 (delivered, not yet acknowledged)",
		"redelivered      0", "lag              3 (pending + ack pending)",
		"last delivered   stream sequence 3, ", "acknowledged     all up to stream sequence 0, last never",
		"stream last      sequence 10", "ack wait         30s",
	} {
		require.Contains(t, info, want)
	}
	var d consumers.Details
	require.NoError(t, json.Unmarshal([]byte(succeed(t, "consumers", "info", timelineConsumer, "--json", "--server", url)), &d))
	require.Equal(t, "exprsn-timeline", d.Service)
	require.Equal(t, uint64(2), d.Pending)
	require.Equal(t, uint64(2), d.Lag)
	require.Equal(t, uint64(10), d.StreamLastSeq)
	require.Zero(t, d.WaitingPulls, "no instance")
	require.Equal(t, "ipcmesh: exprsn-timeline handler for post:created", d.Config.Description)

	// Done, the handler has no lag, whatever its acknowledged position in
	// the stream, which other handlers' events follow.
	release()
	held.WaitN(t, 3, 0)
	done := waitConsumer(t, url, heraldConsumer, func(c consumers.Consumer) bool { return c.Lag == 0 })
	require.GreaterOrEqual(t, done.AckFloorSeq, uint64(3))
	require.Regexp(t, row("exprsn-herald", heraldConsumer, "mail:send", "0 0 0 0", "-"), succeed(t, "consumers", "list", "--server", url))

	r := meshctl(t, "consumers", "info", "nope", "--server", url)
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, `no consumer "nope" on MESH_ipc (see meshctl consumers list)`)
}

// TestConsumersPauseAndResume: a paused handler gets no event, even from an
// instance that starts meanwhile; the event waits as pending, and comes
// once resumed.
func TestConsumersPauseAndResume(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	url := s.URL()
	ctx := context.Background()
	got := testutil.NewRecorder()
	_, err := connectTo(t, url, "exprsn-herald").OnDurable(ctx, "mail:send", got)
	require.NoError(t, err)
	witness := testutil.NewRecorder() // a live handler of the same events
	_, err = connectTo(t, url, "exprsn-audit").On(ctx, "mail:send", witness)
	require.NoError(t, err)
	sender := connectTo(t, url, "exprsn-web")

	before := time.Now()
	out := succeed(t, "consumers", "pause", heraldConsumer, "--for", "1h", "--server", url)
	m := regexp.MustCompile(`^paused ` + heraldConsumer + ` until (\S+)\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	until, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(time.Hour), until, time.Minute)
	require.Regexp(t, row("exprsn-herald", heraldConsumer, "mail:send", "0 0 0 0", `until `+regexp.QuoteMeta(m[1])),
		succeed(t, "consumers", "list", "--server", url))

	// An instance starting while paused leaves the pause.
	_, err = connectTo(t, url, "exprsn-herald").OnDurable(ctx, "mail:send", got)
	require.NoError(t, err)

	require.NoError(t, sender.Emit(ctx, "mail:send", map[string]string{"to": "ada"})) // a broadcast
	witness.WaitN(t, 1, 0)
	c := waitConsumer(t, url, heraldConsumer, func(c consumers.Consumer) bool { return c.Pending == 1 })
	require.True(t, c.Paused)
	require.Zero(t, c.AckPending, "not delivered")
	require.Equal(t, uint64(1), c.Lag)
	require.Zero(t, got.Len())
	require.Contains(t, succeed(t, "consumers", "info", heraldConsumer, "--server", url), "paused           until "+m[1])

	require.Equal(t, "resumed "+heraldConsumer+"\n", succeed(t, "consumers", "resume", heraldConsumer, "--server", url))
	got.WaitN(t, 1, 0)
	c = waitConsumer(t, url, heraldConsumer, func(c consumers.Consumer) bool { return c.Lag == 0 })
	require.False(t, c.Paused)
	require.Nil(t, c.PausedUntil)

	at := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	require.Equal(t, "paused "+heraldConsumer+" until "+at+"\n",
		succeed(t, "consumers", "pause", heraldConsumer, "--until", at, "--server", url))
	require.Equal(t, "resumed "+heraldConsumer+"\n", succeed(t, "consumers", "resume", heraldConsumer, "--server", url))

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", heraldConsumer}, "at least one of the flags in the group [for until] is required"},
		{[]string{"pause", heraldConsumer, "--for", "1h", "--until", at}, "[for until] were all set"},
		{[]string{"pause", heraldConsumer, "--for", "-1m"}, "--for -1m0s: want a positive duration"},
		{[]string{"pause", heraldConsumer, "--until", "2000-01-01T00:00:00Z"}, "is not in the future"},
		{[]string{"pause", heraldConsumer, "--until", "tomorrow"}, `--until "tomorrow": want an RFC 3339 time`},
		{[]string{"pause", "nope", "--for", "1m"}, `no consumer "nope" on MESH_ipc`},
		{[]string{"resume", "nope"}, `no consumer "nope" on MESH_ipc`},
	} {
		r := meshctl(t, append(append([]string{"consumers"}, tt.args...), "--server", url)...)
		require.Equal(t, 1, r.code, "%v: %s", tt.args, r.stdout)
		requireOneErrorLine(t, r.stderr, tt.want)
	}
}

// TestConsumersDelete: delete asks, and deletes only on "y" or with --yes.
func TestConsumersDelete(t *testing.T) {
	s := testutil.StartServer(t, testutil.WithStreams())
	url := s.URL()
	ctx := context.Background()
	w := connectTo(t, url, "exprsn-herald")
	for _, name := range []string{"first", "second"} {
		sub, err := w.OnDurable(ctx, "mail:send", testutil.NewRecorder(), mesh.DurableName(name))
		require.NoError(t, err)
		require.NoError(t, sub.Off(ctx)) // a handler that is gone
	}
	require.NoError(t, connectTo(t, url, "exprsn-web").Emit(ctx, "mail:send", nil, mesh.To("exprsn-herald")))
	names := func() []string {
		var out []string
		for _, c := range listConsumers(t, "--server", url) {
			out = append(out, c.Handler)
		}
		return out
	}
	const question = "delete consumer first (exprsn-herald handler for mail:send), with 1 event not yet acknowledged? [y/N] \n"

	for _, tt := range []struct{ name, stdin, want string }{
		{"no", "n\n", "meshctl: consumer first not deleted: not confirmed (answer y, or give --yes)\n"},
		{"anything else", "yep\n", "meshctl: consumer first not deleted: not confirmed (answer y, or give --yes)\n"},
		{"no answer", "", "meshctl: consumer first not deleted: no answer on standard input (give --yes to delete without asking)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := meshctlWith(t, withStdin(tt.stdin), "consumers", "delete", "first", "--server", url)
			require.Equal(t, 1, r.code, r.stdout)
			require.Empty(t, r.stdout)
			require.Equal(t, question+tt.want, r.stderr)
			require.Equal(t, []string{"first", "second"}, names())
		})
	}

	r := meshctlWith(t, withStdin("y\n"), "consumers", "delete", "first", "--server", url)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "deleted consumer first\n", r.stdout)
	require.Equal(t, question, r.stderr)
	require.Equal(t, []string{"second"}, names())

	r = meshctlWith(t, withStdin(""), "consumers", "delete", "second", "--yes", "--server", url)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "deleted consumer second\n", r.stdout)
	require.Empty(t, r.stderr, "no question")
	require.Equal(t, "no consumers\n", succeed(t, "consumers", "list", "--server", url))

	r = meshctl(t, "consumers", "delete", "second", "--yes", "--server", url)
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, `no consumer "second" on MESH_ipc`)
}

// TestConsumersWithoutStreams: the commands say the stream is missing.
func TestConsumersWithoutStreams(t *testing.T) {
	bare := testutil.StartServer(t)
	for _, args := range [][]string{{"list"}, {"info", "x"}, {"pause", "x", "--for", "1m"}, {"resume", "x"}, {"delete", "x", "--yes"}} {
		r := meshctl(t, append(append([]string{"consumers"}, args...), "--server", bare.URL())...)
		require.Equal(t, 1, r.code, "%v: %s", args, r.stdout)
		requireOneErrorLine(t, r.stderr, `namespace "ipc" has no event stream MESH_ipc`)
		requireOneErrorLine(t, r.stderr, "is the bridge (meshctl serve) running on this server?")
	}
	r := meshctl(t, "consumers", "bogus")
	require.Equal(t, 1, r.code)
	requireOneErrorLine(t, r.stderr, `unknown command "bogus" for "meshctl consumers"`)
}

// httpGet fetches url and returns its body, failing unless it is 200 OK.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// TestConsumersInStatsAndMetrics: the bridge's stats report, meshctl stats
// and the bridge's metrics carry each consumer's figures, those of a
// handler without instances too.
func TestConsumersInStatsAndMetrics(t *testing.T) {
	b := startServe(t)
	url := b.NATSURL()
	ctx := context.Background()
	held := testutil.NewRecorder()
	holding(t, connectTo(t, url, "exprsn-herald"), "mail:send", held)
	sub, err := connectTo(t, url, "exprsn-timeline").OnDurable(ctx, "post:created", testutil.NewRecorder())
	require.NoError(t, err)
	require.NoError(t, sub.Off(ctx))
	sender := connectTo(t, url, "exprsn-web")
	for range 2 {
		require.NoError(t, sender.Emit(ctx, "mail:send", nil, mesh.To("exprsn-herald")))
	}
	require.NoError(t, sender.Emit(ctx, "post:created", nil, mesh.To("exprsn-timeline")))
	held.WaitN(t, 1, 0)
	waitConsumer(t, url, heraldConsumer, func(c consumers.Consumer) bool { return c.AckPending == 2 })
	succeed(t, "consumers", "pause", timelineConsumer, "--for", "1h", "--server", url)

	var report stats.Report
	require.NoError(t, json.Unmarshal([]byte(httpGet(t, b.HTTPURL()+"/api/ipc/stats")), &report))
	require.Len(t, report.Consumers, 2)
	h, tl := report.Consumers[0], report.Consumers[1]
	require.Equal(t, []any{"exprsn-herald", heraldConsumer, "mail:send", uint64(0), uint64(2), uint64(0), uint64(2), false},
		[]any{h.Service, h.Handler, h.Pattern, h.Pending, h.AckPending, h.Redelivered, h.Lag, h.Paused})
	require.Equal(t, []any{"exprsn-timeline", timelineConsumer, "post:created", uint64(1), uint64(0), uint64(0), uint64(1), true},
		[]any{tl.Service, tl.Handler, tl.Pattern, tl.Pending, tl.AckPending, tl.Redelivered, tl.Lag, tl.Paused})
	require.NotNil(t, tl.PausedUntil)

	table := succeed(t, "stats", "--http", b.HTTPURL())
	require.Regexp(t, row("exprsn-herald", heraldConsumer, "mail:send", "0 2 0 2", "-"), table)
	require.Regexp(t, row("exprsn-timeline", timelineConsumer, "post:created", "1 0 0 1", `until \S+`), table)
	var direct stats.Report
	require.NoError(t, json.Unmarshal([]byte(succeed(t, "stats", "--json", "--server", url)), &direct))
	require.Equal(t, report.Consumers[1].Lag, direct.Consumers[1].Lag)

	metrics := httpGet(t, b.HTTPURL()+"/metrics")
	for _, want := range []string{
		`ipcmesh_consumer_lag{handler="` + heraldConsumer + `",namespace="ipc",service="exprsn-herald"} 2`,
		`ipcmesh_consumer_pending{handler="` + heraldConsumer + `",namespace="ipc",service="exprsn-herald"} 0`,
		`ipcmesh_consumer_ack_pending{handler="` + heraldConsumer + `",namespace="ipc",service="exprsn-herald"} 2`,
		`ipcmesh_consumer_redelivered{handler="` + heraldConsumer + `",namespace="ipc",service="exprsn-herald"} 0`,
		`ipcmesh_consumer_paused{handler="` + heraldConsumer + `",namespace="ipc",service="exprsn-herald"} 0`,
		`ipcmesh_consumer_lag{handler="` + timelineConsumer + `",namespace="ipc",service="exprsn-timeline"} 1`,
		`ipcmesh_consumer_pending{handler="` + timelineConsumer + `",namespace="ipc",service="exprsn-timeline"} 1`,
		`ipcmesh_consumer_paused{handler="` + timelineConsumer + `",namespace="ipc",service="exprsn-timeline"} 1`,
		"# TYPE ipcmesh_consumer_lag gauge",
		"# HELP ipcmesh_consumer_lag Events of the durable handler not yet acknowledged: pending plus ack pending.",
	} {
		require.Contains(t, metrics, want)
	}
}
