package timeline_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
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

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/posts", strings.NewReader(body)))
	return rec
}

func TestHTTPCreatePost(t *testing.T) {
	srv := testutil.StartServer(t)
	submitted := fakeModerator(t, srv)
	api := timeline.NewHTTPHandler(testutil.Connect(t, srv, timeline.Name))

	rec := post(api, `{"author":"ana","text":"hi"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"announced":true`) {
		t.Fatalf("POST /posts: %d %s", rec.Code, rec.Body)
	}
	submitted.WaitN(t, 1, 0)

	if rec := post(api, `{"author":"ana"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("POST /posts without text: %d %s, want 400", rec.Code, rec.Body)
	}
}

// TestHTTPSurvivesMeshFailure shows graceful degradation: when the events
// cannot be sent, the user still gets the post, and the worker reports the
// failure to its error hook.
func TestHTTPSurvivesMeshFailure(t *testing.T) {
	srv := testutil.StartServer(t)
	failures := make(chan error, 2)
	w := testutil.Connect(t, srv, timeline.Name, mesh.Config{OnError: func(err error) { failures <- err }})
	api := timeline.NewHTTPHandler(w)
	if err := w.Close(context.Background()); err != nil { // the mesh is gone
		t.Fatal(err)
	}

	rec := post(api, `{"author":"ana","text":"hi"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"announced":false`) {
		t.Fatalf("POST /posts with the mesh down: %d %s, want 201 and announced false", rec.Code, rec.Body)
	}
	if len(failures) != 2 {
		t.Errorf("%d failures reported, want 2 (post:created and content:submitted)", len(failures))
	}
}

func TestHTTPHealthzFollowsTheWorker(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, timeline.Name)
	api := timeline.NewHTTPHandler(w)
	healthz := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec
	}
	if rec := healthz(); rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz with the worker connected: %d %s, want 200", rec.Code, rec.Body)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec := healthz(); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "closed") {
		t.Fatalf("GET /healthz with the worker closed: %d %s, want 503 saying it is closed", rec.Code, rec.Body)
	}
}
