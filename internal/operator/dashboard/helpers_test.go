package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// fixture is a server with the namespace's streams, the dashboard's worker,
// the dashboard, and an HTTP server in front of it.
type fixture struct {
	srv *testutil.Server
	w   *mesh.Worker
	d   *Dashboard
	mux *http.ServeMux
	url string
}

// setup starts a fixture whose dashboard allows actions.
func setup(t *testing.T, actions Actions) *fixture {
	t.Helper()
	f := &fixture{srv: testutil.StartServer(t, testutil.WithStreams())}
	f.w = testutil.Connect(t, f.srv, "meshctl-serve")
	g := stats.NewGatherer(f.w.Conn(), f.w.JetStream(), f.w.Namespace(), stats.VarzSource(f.srv.NATS))
	d, err := New(Config{Worker: f.w, Gather: g.Gather, Actions: actions, Interval: 50 * time.Millisecond})
	require.NoError(t, err)
	f.d, f.mux = d, http.NewServeMux()
	d.Register(f.mux)
	hs := httptest.NewServer(f.mux)
	t.Cleanup(hs.Close) // after the dashboard's Close, which ends the streams
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		require.NoError(t, d.Close(ctx))
	})
	f.url = hs.URL
	return f
}

// call sends method path to the fixture's server, with header "X-Mesh-Dashboard:
// 1" (as the page sends it) and extra headers, and returns the status and
// body.
func (f *fixture) call(t *testing.T, method, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, nil)
	require.NoError(t, err)
	req.Header.Set(ActionHeader, "1")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// deadLetters makes n dead letters of service "exprsn-herald" (a durable
// handler of "mail:send" that fails them for good) and returns the
// handler's recorder, which then succeeds.
func (f *fixture) deadLetters(t *testing.T, n int) *testutil.Recorder {
	t.Helper()
	herald := testutil.Connect(t, f.srv, "exprsn-herald", mesh.Config{Logger: slog.New(slog.DiscardHandler)}) // quiet failures
	rec := testutil.NewRecorder()
	rec.FailWith(mesh.Permanent(io.ErrUnexpectedEOF))
	_, err := herald.OnDurable(t.Context(), "mail:send", rec)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, herald.Emit(t.Context(), "mail:send", map[string]int{"n": i}, mesh.ToSelf()))
	}
	q := deadletter.New(f.w.JetStream(), f.w.Namespace())
	require.Eventually(t, func() bool {
		list, err := q.List(t.Context(), "exprsn-herald", 1, 0)
		return err == nil && len(list) == n
	}, testutil.DefaultWait, 10*time.Millisecond)
	rec.FailWith(nil)
	return rec
}

// message is one SSE message.
type message struct{ id, event, data, comment string }

// stream is an open SSE response, read message by message.
type stream struct {
	resp *http.Response
	msgs chan message
}

// openStream GETs url and checks for 200 and an event stream.
func openStream(t *testing.T, url string, header map[string]string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = resp.Body.Close()
	})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &stream{resp: resp, msgs: make(chan message, 64)}
	go s.read()
	return s
}

// read parses the body into messages until it ends, then closes msgs.
func (s *stream) read() {
	defer close(s.msgs)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(nil, 1<<20)
	var m message
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			m.data = strings.Join(data, "\n")
			s.msgs <- m
			m, data = message{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			m.comment = value
		case "id":
			m.id = value
		case "event":
			m.event = value
		case "data":
			data = append(data, value)
		}
	}
}

// next returns the next message that is not a comment, failing the test
// if none comes within testutil.DefaultWait or the stream ends.
func (s *stream) next(t *testing.T) message {
	t.Helper()
	for {
		m := s.nextAny(t)
		if m.comment == "" {
			return m
		}
	}
}

// nextAny returns the next message, comments included.
func (s *stream) nextAny(t *testing.T) message {
	t.Helper()
	select {
	case m, ok := <-s.msgs:
		require.True(t, ok, "the stream ended")
		return m
	case <-time.After(testutil.DefaultWait):
		t.Fatal("no message within the deadline")
		return message{}
	}
}

// ended waits for the stream's end.
func (s *stream) ended(t *testing.T) {
	t.Helper()
	deadline := time.After(testutil.DefaultWait)
	for {
		select {
		case _, ok := <-s.msgs:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end within the deadline")
		}
	}
}

// decode unmarshals body into v.
func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}
