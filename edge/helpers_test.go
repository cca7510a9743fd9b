package edge_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	sse "github.com/tmaxmax/go-sse"
)

// modes are the two feeds: the event stream (ids, resume) and core NATS.
var modes = []struct {
	name   string
	stream bool
}{{"stream", true}, {"live", false}}

// fixture is a worker, its handler and an HTTP server in front of it.
type fixture struct {
	ctx context.Context // the test's
	srv *testutil.Server
	w   *mesh.Worker
	h   *edge.Handler
	url string
}

// setup starts a server (with the event stream if stream), a worker of
// service "exprsn-timeline" and a handler for cfg behind hs (a new
// httptest server if nil).
func setup(t testing.TB, stream bool, cfg edge.Config, hs *httptest.Server) *fixture {
	t.Helper()
	var opts []testutil.ServerOption
	if stream {
		opts = append(opts, testutil.WithStreams())
	}
	f := &fixture{ctx: t.Context(), srv: testutil.StartServer(t, opts...)}
	f.w = testutil.Connect(t, f.srv, "exprsn-timeline")
	if cfg.Authorize == nil {
		cfg.Authorize = edge.Public
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := edge.New(t.Context(), f.w, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	if hs == nil {
		hs = httptest.NewUnstartedServer(nil)
	}
	hs.Config.Handler = h
	hs.Start()
	t.Cleanup(hs.Close) // after the handler's Close, which ends the streams
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	f.url = hs.URL
	return f
}

// emit emits n events of type event with data {"n": from+i, ...extra}.
func (f *fixture) emit(t testing.TB, event string, from, n int, opts ...mesh.EmitOption) {
	t.Helper()
	for i := range n {
		if err := f.w.Emit(t.Context(), event, payload{N: from + i}, opts...); err != nil {
			t.Fatal(err)
		}
	}
}

type payload struct {
	N    int    `json:"n"`
	User string `json:"user,omitempty"`
}

// cloudEvent is what a browser parses from a message's data.
type cloudEvent struct {
	ID     string  `json:"id"`
	Source string  `json:"source"`
	Type   string  `json:"type"`
	Data   payload `json:"data"`
}

func parse(t testing.TB, ev sse.Event) cloudEvent {
	t.Helper()
	var ce cloudEvent
	if err := json.Unmarshal([]byte(ev.Data), &ce); err != nil {
		t.Fatalf("data of %q is not a JSON CloudEvent: %v\n%s", ev.Type, err, ev.Data)
	}
	return ce
}

// client is a browser: it reads a stream with go-sse's parser.
type client struct {
	resp   *http.Response
	events chan sse.Event
	cancel context.CancelFunc
}

// open connects to url, with Last-Event-ID lastID if not empty, and fails
// the test unless the answer is a 200 event stream.
func open(t testing.TB, url, lastID string) *client {
	t.Helper()
	resp, cancel := get(t, http.DefaultClient, url, lastID)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	c := &client{resp: resp, events: make(chan sse.Event, 1024), cancel: cancel}
	go func() {
		defer close(c.events)
		for ev, err := range sse.Read(resp.Body, &sse.ReadConfig{MaxEventSize: 4 << 20}) {
			if err != nil {
				return
			}
			c.events <- ev
		}
	}()
	t.Cleanup(c.close)
	return c
}

func get(t testing.TB, hc *http.Client, url, lastID string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return resp, cancel
}

func (c *client) close() {
	c.cancel()
	_ = c.resp.Body.Close()
}

// next returns the next message, failing the test after DefaultWait.
func (c *client) next(t testing.TB) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(testutil.DefaultWait):
		t.Fatal("no message within", testutil.DefaultWait)
	}
	return sse.Event{}
}

// until returns the messages up to and including the first of type typ.
func (c *client) until(t testing.TB, typ string) []sse.Event {
	t.Helper()
	var got []sse.Event
	for {
		ev := c.next(t)
		got = append(got, ev)
		if ev.Type == typ {
			return got
		}
	}
}

func seq(t testing.TB, ev sse.Event) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(ev.LastEventID, 10, 64)
	if err != nil {
		t.Fatalf("message %q has id %q, not a sequence", ev.Type, ev.LastEventID)
	}
	return n
}
