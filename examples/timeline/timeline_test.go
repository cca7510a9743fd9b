package timeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	"github.com/exprsn/ipcmesh/testutil"
)

// fakeModerator stands in for moderator: it records what timeline submits.
func fakeModerator(t *testing.T, srv *testutil.Server) *testutil.Recorder {
	t.Helper()
	rec := testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, moderator.Name).On(t.Context(), moderator.ContentSubmitted, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestCreatePost(t *testing.T) {
	srv := testutil.StartServer(t)
	submitted := fakeModerator(t, srv)
	w := testutil.Connect(t, srv, timeline.Name)
	created := testutil.NewRecorder()
	if _, err := w.On(t.Context(), timeline.PostCreated, created); err != nil {
		t.Fatal(err)
	}

	p, err := timeline.CreatePost(context.Background(), w, timeline.Post{Author: "ana", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" {
		t.Error("CreatePost gave the post no ID")
	}
	if ev := created.WaitN(t, 1, 0)[0]; !ev.IsBroadcast() {
		t.Errorf("post:created went to %s, want a broadcast", ev.Target)
	}
	var s moderator.Submission
	if err := submitted.WaitN(t, 1, 0)[0].Decode(&s); err != nil || s != (moderator.Submission{ID: p.ID, Author: "ana", Text: "hi"}) {
		t.Errorf("moderator got %+v (%v) for post %+v", s, err, p)
	}
	if _, err := timeline.CreatePost(context.Background(), w, timeline.Post{Author: "ana"}); err == nil {
		t.Error("a post without text was created")
	}
}

// quickRelay notices failures and recovers quickly.
var quickRelay = outbox.Config{PollInterval: 100 * time.Millisecond, PublishTimeout: time.Second,
	MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}

// openStore opens a Store of w in the database file db, closed in
// t.Cleanup before w.
func openStore(t *testing.T, w *mesh.Worker, db string) *timeline.Store {
	t.Helper()
	s, err := timeline.OpenStore(t.Context(), w, timeline.StoreConfig{Database: db, Outbox: quickRelay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// services is an embedded server with streams, timeline's worker and
// Store, and durable recorders of what timeline announces: post:created
// (as another service keeping a feed would take it) and content:submitted
// (as moderator).
type services struct {
	srv                *testutil.Server
	store              *timeline.Store
	created, submitted *testutil.Recorder
}

func start(t *testing.T) *services {
	t.Helper()
	s := &services{srv: testutil.StartServer(t, testutil.WithStreams()),
		created: testutil.NewRecorder(), submitted: testutil.NewRecorder()}
	if _, err := testutil.Connect(t, s.srv, "exprsn-spark").OnDurable(t.Context(), timeline.PostCreated, s.created); err != nil {
		t.Fatal(err)
	}
	if _, err := testutil.Connect(t, s.srv, moderator.Name).OnDurable(t.Context(), moderator.ContentSubmitted, s.submitted); err != nil {
		t.Fatal(err)
	}
	s.store = openStore(t, testutil.Connect(t, s.srv, timeline.Name), filepath.Join(t.TempDir(), "timeline.db"))
	return s
}

// announcedOnce checks that the handlers got exactly the posts with ids,
// in that order, each once: the last is a barrier created after the
// others, so nothing before it is still on its way.
func (s *services) announcedOnce(t *testing.T, ids ...string) {
	t.Helper()
	for _, rec := range []*testutil.Recorder{s.created, s.submitted} {
		got := rec.WaitN(t, len(ids), 0)
		if len(got) != len(ids) {
			t.Errorf("%d events of type %s, want %d", len(got), got[0].Type, len(ids))
		}
		for i, ev := range got {
			var p struct{ ID string }
			if err := ev.Decode(&p); err != nil || i >= len(ids) || p.ID != ids[i] {
				t.Errorf("event %d: %s for post %q (%v), want post %q", i, ev.Type, p.ID, err, ids[min(i, len(ids)-1)])
			}
		}
	}
}

func TestStoreCreatePost(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	p, err := s.store.CreatePost(ctx, timeline.Post{ID: "p1", Author: "ana", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.store.Post(ctx, "p1"); err != nil || got != p {
		t.Errorf("stored %+v (%v), want %+v", got, err, p)
	}
	ev := s.created.WaitN(t, 1, 0)[0]
	if ev.ID != timeline.PostCreated+"/p1" || ev.Source != timeline.Name || !ev.IsBroadcast() {
		t.Errorf("post:created is %s from %s to %s, want %s/p1 from %s to all", ev.ID, ev.Source, ev.Target, timeline.PostCreated, timeline.Name)
	}

	for _, tt := range []struct {
		name string
		post timeline.Post
		want error
	}{
		{"taken ID", timeline.Post{ID: "p1", Author: "ben", Text: "mine"}, timeline.ErrPostExists},
		{"no text", timeline.Post{Author: "ana"}, timeline.ErrInvalidPost},
		{"ID too long", timeline.Post{ID: strings.Repeat("p", timeline.MaxIDLen+1), Author: "ana", Text: "hi"}, timeline.ErrInvalidPost},
	} {
		if _, err := s.store.CreatePost(ctx, tt.post); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if got, err := s.store.Post(ctx, "p1"); err != nil || got != p {
		t.Errorf("after a post with the same ID: %+v (%v), want %+v", got, err, p)
	}
	if _, err := s.store.Post(ctx, "p9"); !errors.Is(err, timeline.ErrNoPost) {
		t.Errorf("an unknown post: %v, want ErrNoPost", err)
	}
	if _, err := s.store.CreatePost(ctx, timeline.Post{ID: "p2", Author: "ana", Text: "barrier"}); err != nil {
		t.Fatal(err)
	}
	s.announcedOnce(t, "p1", "p2")
}

// A creation rolled back after its events were written in the transaction
// stores no post and emits nothing.
func TestRolledBackCreationEmitsNothing(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	if err := s.store.CreateAndRollBack(ctx, timeline.Post{ID: "p1", Author: "ana", Text: "rolled back"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Post(ctx, "p1"); !errors.Is(err, timeline.ErrNoPost) {
		t.Errorf("the rolled-back post: %v, want ErrNoPost", err)
	}
	if _, err := s.store.CreatePost(ctx, timeline.Post{ID: "p2", Author: "ana", Text: "barrier"}); err != nil {
		t.Fatal(err)
	}
	s.announcedOnce(t, "p2")
	testutil.WaitUntil(t, "the relay published the barrier's 2 events and nothing else", func() bool {
		st := s.store.Outbox().Stats()
		return st.Published == 2 && st.Pending == 0
	})
}

func request(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

// postID posts a post to api and returns its ID, failing unless 201.
func postID(t *testing.T, api http.Handler, body string) string {
	t.Helper()
	rec := request(api, http.MethodPost, "/posts", body)
	var created struct{ Post timeline.Post }
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &created) != nil || created.Post.ID == "" {
		t.Fatalf("POST /posts %s: %d %s, want 201 with the post", body, rec.Code, rec.Body)
	}
	return created.Post.ID
}

func TestHTTPCreatePost(t *testing.T) {
	s := start(t)
	api := timeline.NewHTTPHandler(s.store)

	id := postID(t, api, `{"id":"mine","author":"ana","text":"hi"}`)
	if id == "mine" {
		t.Error("the client named the post")
	}
	if rec := request(api, http.MethodGet, "/posts/"+id, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"text":"hi"`) {
		t.Errorf("GET /posts/%s: %d %s, want 200 with the post", id, rec.Code, rec.Body)
	}
	s.announcedOnce(t, id)

	if rec := request(api, http.MethodPost, "/posts", `{"author":"ana"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("POST /posts without text: %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := request(api, http.MethodGet, "/posts/nope", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET of an unknown post: %d %s, want 404", rec.Code, rec.Body)
	}
}

// A post whose events the server would refuse (over its max_payload) is
// not stored: a 400 over HTTP.
func TestPostTooLargeIsNotStored(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams(), testutil.WithMaxPayload(4096))
	store := openStore(t, testutil.Connect(t, srv, timeline.Name), filepath.Join(t.TempDir(), "timeline.db"))
	text := strings.Repeat("x", 4096)
	if _, err := store.CreatePost(t.Context(), timeline.Post{ID: "big", Author: "ana", Text: text}); !errors.Is(err, mesh.ErrTooLarge) {
		t.Fatalf("CreatePost of a post over max_payload: %v, want mesh.ErrTooLarge", err)
	}
	if _, err := store.Post(t.Context(), "big"); !errors.Is(err, timeline.ErrNoPost) {
		t.Errorf("the refused post: %v, want ErrNoPost", err)
	}
	if rec := request(timeline.NewHTTPHandler(store), http.MethodPost, "/posts", `{"author":"ana","text":"`+text+`"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("POST /posts over max_payload: %d %s, want 400", rec.Code, rec.Body)
	}
}

// A post created while the NATS server is down is stored at once, and
// announced once when the server is back: its events wait in the outbox,
// not in a client buffer.
func TestHTTPPostDuringMeshOutage(t *testing.T) {
	s := start(t)
	api := timeline.NewHTTPHandler(s.store)
	s.srv.Shutdown()

	id := postID(t, api, `{"author":"ana","text":"written during the outage"}`)
	if rec := request(api, http.MethodGet, "/posts/"+id, ""); rec.Code != http.StatusOK {
		t.Fatalf("GET /posts/%s during the outage: %d %s", id, rec.Code, rec.Body)
	}
	testutil.WaitUntil(t, "the relay keeps both events and reports its failures", func() bool {
		st := s.store.Outbox().Stats()
		return st.Pending == 2 && st.Failures > 0
	})
	s.srv.Restart(t)
	s.announcedOnce(t, id, postID(t, api, `{"author":"ana","text":"barrier"}`))
}

// A post whose service stopped before its events left (the mesh down
// meanwhile) is announced by the next Store on its database.
func TestPostAnnouncedAfterTheServiceRestarts(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	db := filepath.Join(t.TempDir(), "restarted.db")
	// The first process's worker, closed with it during the outage.
	w, err := mesh.Connect(ctx, mesh.Config{Service: timeline.Name, Servers: []string{s.srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := timeline.OpenStore(ctx, w, timeline.StoreConfig{Database: db, Outbox: quickRelay})
	if err != nil {
		t.Fatal(err)
	}
	s.srv.Shutdown()
	if _, err := first.CreatePost(ctx, timeline.Post{ID: "p1", Author: "ana", Text: "left behind"}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// What the relay's publishes left in the NATS client's buffer is lost
	// with the process; the outbox's rows are not.
	t.Logf("the first process's worker closed during the outage: %v", w.Close(ctx))

	s.srv.Restart(t)
	next := openStore(t, testutil.Connect(t, s.srv, timeline.Name), db)
	if _, err := next.CreatePost(ctx, timeline.Post{ID: "p2", Author: "ana", Text: "barrier"}); err != nil {
		t.Fatal(err)
	}
	s.announcedOnce(t, "p1", "p2")
}

func TestHTTPHealthzFollowsTheWorker(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, timeline.Name)
	api := timeline.NewHTTPHandler(openStore(t, w, filepath.Join(t.TempDir(), "timeline.db")))
	if rec := request(api, http.MethodGet, "/healthz", ""); rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz with the worker connected: %d %s, want 200", rec.Code, rec.Body)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec := request(api, http.MethodGet, "/healthz", ""); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "closed") {
		t.Fatalf("GET /healthz with the worker closed: %d %s, want 503 saying it is closed", rec.Code, rec.Body)
	}
}
