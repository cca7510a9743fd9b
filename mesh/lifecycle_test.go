package mesh_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"
)

// errorSink collects the errors a worker reports through Config.OnError.
type errorSink struct {
	mu   sync.Mutex
	errs []error
	rec  *testutil.Recorder // signals every new error
}

func newErrorSink() *errorSink { return &errorSink{rec: testutil.NewRecorder()} }

func (s *errorSink) report(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	_ = s.rec.HandleEvent(context.Background(), &mesh.Event{})
}

func (s *errorSink) waitN(t *testing.T, n int) []error {
	t.Helper()
	s.rec.WaitN(t, n, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func TestHandlerPanicIsReportedAndSurvived(t *testing.T) {
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	w := testutil.Connect(t, srv, "exprsn-moderator", mesh.Config{OnError: sink.report})
	var calls atomic.Int32
	_, err := w.On(context.Background(), "content:check", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		if calls.Add(1) == 1 {
			panic("nil map in moderation rules")
		}
		return nil
	}))
	require.NoError(t, err)
	rec := on(t, w, "content:check")
	ctx := context.Background()
	require.NoError(t, w.Emit(ctx, "content:check", 1, mesh.ToSelf()))
	errs := sink.waitN(t, 1)
	var herr *mesh.HandlerError
	require.ErrorAs(t, errs[0], &herr)
	var perr *mesh.PanicError
	require.ErrorAs(t, errs[0], &perr)
	require.Equal(t, "nil map in moderation rules", perr.Value)
	require.Equal(t, "content:check", herr.Event)

	require.NoError(t, w.Emit(ctx, "content:check", 2, mesh.ToSelf()))
	rec.WaitN(t, 2, 0)
	require.Eventually(t, func() bool { return w.Stats().Handled == 3 }, testutil.DefaultWait, time.Millisecond)
	require.Equal(t, uint64(1), w.Stats().Panics)
}

func TestCloseDrainsInFlightHandlers(t *testing.T) {
	srv := testutil.StartServer(t)
	emitter := testutil.Connect(t, srv, "exprsn-timeline")
	w, err := mesh.Connect(context.Background(), mesh.Config{Service: "exprsn-herald", Servers: []string{srv.URL()}})
	require.NoError(t, err)

	started := testutil.NewRecorder()
	release := make(chan struct{})
	var finished atomic.Int32
	_, err = w.On(context.Background(), "notification:send", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = started.HandleEvent(ctx, ev)
		<-release
		// A handler still running during Close may emit (event chains).
		if err := w.Emit(ctx, "notification:sent", nil); err != nil {
			return err
		}
		finished.Add(1)
		return nil
	}))
	require.NoError(t, err)
	sent := on(t, emitter, "notification:sent")

	const n = 5
	for range n {
		require.NoError(t, emitter.Emit(context.Background(), "notification:send", nil, mesh.To("exprsn-herald")))
	}
	started.WaitN(t, n, 0)

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		closed <- w.Close(ctx)
	}()
	close(release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(testutil.DefaultWait):
		t.Fatal("Close did not return")
	}
	require.Equal(t, int32(n), finished.Load(), "Close returned before in-flight handlers finished")
	sent.WaitN(t, n, 0)
	require.Equal(t, uint64(n), w.Stats().Handled)

	require.ErrorIs(t, w.Emit(context.Background(), "x", nil), mesh.ErrClosed)
	_, err = w.On(context.Background(), "x", testutil.NewRecorder())
	require.ErrorIs(t, err, mesh.ErrClosed)
	_, err = w.Request(context.Background(), "exprsn-auth", "x", nil)
	require.ErrorIs(t, err, mesh.ErrClosed)
	require.NoError(t, w.Close(context.Background()), "a second Close returns the first's result")
}

func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	srv := testutil.StartServer(t)
	w, err := mesh.Connect(context.Background(), mesh.Config{Service: "exprsn-herald", Servers: []string{srv.URL()}})
	require.NoError(t, err)
	started := testutil.NewRecorder()
	cancelled := make(chan struct{})
	_, err = w.On(context.Background(), "stuck", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = started.HandleEvent(ctx, ev)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}))
	require.NoError(t, err)
	require.NoError(t, w.Emit(context.Background(), "stuck", nil, mesh.ToSelf()))
	started.WaitN(t, 1, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, w.Close(ctx), context.DeadlineExceeded)
	select {
	case <-cancelled:
	case <-time.After(testutil.DefaultWait):
		t.Fatal("the stuck handler's context was not cancelled")
	}
}

func TestMaxConcurrentBoundsHandlers(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-moderator", mesh.Config{MaxConcurrent: 2})
	started := testutil.NewRecorder()
	release := make(chan struct{})
	var running, peak atomic.Int32
	_, err := w.On(context.Background(), "content:batch", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		_ = started.HandleEvent(ctx, ev)
		<-release
		running.Add(-1)
		return nil
	}))
	require.NoError(t, err)
	for range 6 {
		require.NoError(t, w.Emit(context.Background(), "content:batch", nil, mesh.ToSelf()))
	}
	started.WaitN(t, 2, 0)
	require.Equal(t, int64(2), w.Stats().InFlight)
	close(release)
	started.WaitN(t, 6, 0)
	require.LessOrEqual(t, peak.Load(), int32(2))
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithMaxPayload(4096))
	sink := newErrorSink()
	w := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{OnError: sink.report})
	rec := on(t, w, "post:created")
	ctx := context.Background()

	tests := []struct {
		name    string
		emit    func() error
		wantErr error
	}{
		{"bad event name", func() error { return w.Emit(ctx, "post created", nil) }, subjects.ErrInvalidName},
		{"wildcard event", func() error { return w.Emit(ctx, "post:*", nil) }, subjects.ErrInvalidName},
		{"dotted event", func() error { return w.Emit(ctx, "post.created", nil) }, subjects.ErrInvalidName},
		{"reserved target", func() error { return w.Emit(ctx, "post:created", nil, mesh.To("_stats")) }, subjects.ErrReserved},
		{"bad target", func() error { return w.Emit(ctx, "post:created", nil, mesh.To("a.b")) }, subjects.ErrInvalidName},
		{"too large", func() error { return w.Emit(ctx, "post:created", strings.Repeat("x", 5000)) }, mesh.ErrTooLarge},
		{"unmarshalable", func() error { return w.Emit(ctx, "post:created", make(chan int)) }, nil},
		{"bad extension", func() error { return w.Emit(ctx, "post:created", nil, mesh.WithExtension("Bad-Name", "x")) }, nil},
		{"done context", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return w.Emit(c, "post:created", nil)
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.emit()
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
	_, err := w.On(context.Background(), "post:>:x", rec)
	require.ErrorIs(t, err, subjects.ErrInvalidName)
	require.Equal(t, uint64(0), w.Stats().Emitted, "refused emits send nothing")

	// Malformed messages published raw by a foreign client never reach a
	// handler; the worker reports them and keeps going.
	raw, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer raw.Close()
	garbage := [][]byte{
		[]byte("not json"),
		[]byte(`{"specversion":"0.3","id":"1","source":"x","type":"post:created"}`),
		[]byte(`{"specversion":"1.0","source":"x","type":"post:created"}`),
		{},
	}
	for _, g := range garbage {
		require.NoError(t, raw.Publish("ipc.all.post.created", g))
	}
	require.NoError(t, raw.Flush())
	errs := sink.waitN(t, len(garbage))
	for _, err := range errs {
		require.ErrorIs(t, err, mesh.ErrInvalidMessage)
	}
	require.NoError(t, w.Emit(ctx, "post:created", map[string]string{"id": "ok"}))
	ev := rec.WaitN(t, 1, 0)[0]
	require.Equal(t, "exprsn-timeline", ev.Source)
	require.Equal(t, 1, rec.Len())
	require.Equal(t, uint64(len(garbage)), w.Stats().Invalid)

	// A malformed request gets an error reply instead of a timeout.
	_, err = w.OnRequest(context.Background(), "profile:get", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
		return "never called", nil
	}))
	require.NoError(t, err)
	resp, err := raw.Request("_rpc.ipc.exprsn-timeline.profile.get", []byte("{"), testutil.DefaultWait)
	require.NoError(t, err)
	require.Equal(t, "400", resp.Header.Get(micro.ErrorCodeHeader))
}

func TestConnectErrorsSayWhatToCheck(t *testing.T) {
	ctx := context.Background()
	_, err := mesh.Connect(ctx, mesh.Config{})
	require.ErrorContains(t, err, "Config.Service is required")
	_, err = mesh.Connect(ctx, mesh.Config{Service: "all"})
	require.ErrorIs(t, err, subjects.ErrReserved)
	_, err = mesh.Connect(ctx, mesh.Config{Service: "svc", Namespace: "a.b"})
	require.ErrorIs(t, err, subjects.ErrInvalidName)

	// A port where nothing listens.
	srv := testutil.StartServer(t)
	url := srv.URL()
	srv.Shutdown()
	_, err = mesh.Connect(ctx, mesh.Config{Service: "svc", Servers: []string{url}, ConnectTimeout: 2 * time.Second})
	require.ErrorContains(t, err, "is nats-server running there")
}

func TestHTTPMiddlewareAndGracefulDegradation(t *testing.T) {
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	w := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{OnError: sink.report})
	rec := on(t, w, "post:created")

	api := w.HTTPMiddleware(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ipc := mesh.FromContext(r.Context())
		if !ipc.TryEmit(r.Context(), r.URL.Query().Get("event"), map[string]string{"id": "p1"}) {
			rw.Header().Set("X-Event-Sent", "false")
		}
		rw.WriteHeader(http.StatusCreated)
	}))
	ts := httptest.NewServer(api)
	defer ts.Close()

	resp, err := http.Post(ts.URL+"?event=post:created", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	rec.WaitN(t, 1, 0)

	// A failed emit is logged and reported, and the user's request succeeds.
	resp, err = http.Post(ts.URL+"?event=bad+name", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "false", resp.Header.Get("X-Event-Sent"))
	errs := sink.waitN(t, 1)
	require.True(t, errors.Is(errs[0], subjects.ErrInvalidName))
	require.Nil(t, mesh.FromContext(context.Background()))
}

func TestEmptyTargetIsAnError(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald")
	err := w.Emit(context.Background(), "notification:delivered", nil, mesh.To(""))
	require.ErrorIs(t, err, subjects.ErrInvalidName)
}

func TestConnectToServerWithoutJetStream(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithoutJetStream())
	w := testutil.Connect(t, srv, "exprsn-spark")
	require.False(t, w.Durable(), "no JetStream: live only")
	rec := on(t, w, "user:login")
	require.NoError(t, w.Emit(context.Background(), "user:login", nil))
	rec.WaitN(t, 1, 0)
}
