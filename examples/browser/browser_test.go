package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/testutil"
	sse "github.com/tmaxmax/go-sse"
)

func start(t *testing.T) string {
	t.Helper()
	srv := testutil.StartServer(t, testutil.WithStreams())
	a, err := newApp(t.Context(), testutil.Connect(t, srv, timeline.Name), testutil.Connect(t, srv, spark.Name))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a)
	t.Cleanup(hs.Close) // after the streams end
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return hs.URL
}

func TestPages(t *testing.T) {
	url := start(t)
	for _, path := range []string{"/timeline/", "/spark/?user=ana"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "new EventSource(") {
			t.Errorf("GET %s: %s, a page without EventSource:\n%s", path, resp.Status, body)
		}
	}
}

// Every browser gets each new post; a user's browser gets its presence
// updates, and no one else's.
func TestEvents(t *testing.T) {
	url := start(t)
	resp, err := http.Get(url + "/spark/events")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("presence without a user: %s, want 401", resp.Status)
	}
	posts1, posts2 := stream(t, url+"/timeline/events"), stream(t, url+"/timeline/events")
	ana, ben := stream(t, url+"/spark/events?user=ana"), stream(t, url+"/spark/events?user=ben")

	post(t, url+"/timeline/posts", `{"author":"ana","text":"hello"}`)
	for _, s := range []<-chan sse.Event{posts1, posts2} {
		ev := next(t, s)
		var ce struct{ Data timeline.Post }
		if err := json.Unmarshal([]byte(ev.Data), &ce); err != nil || ev.Type != timeline.PostCreated || ce.Data.Text != "hello" {
			t.Errorf("got %s %s (%v), want the post", ev.Type, ev.Data, err)
		}
	}
	post(t, url+"/spark/presence", `{"for":"ben","user":"cleo","online":true}`)
	post(t, url+"/spark/presence", `{"for":"ana","user":"ben","online":true}`)
	ev := next(t, ana)
	var ce struct{ Data Presence }
	if err := json.Unmarshal([]byte(ev.Data), &ce); err != nil || ce.Data != (Presence{For: "ana", User: "ben", Online: true}) {
		t.Errorf("ana got %s (%v), want ben online", ev.Data, err)
	}
	if ev := next(t, ben); !strings.Contains(ev.Data, `"user":"cleo"`) {
		t.Errorf("ben got %s, want cleo online", ev.Data)
	}
}

// stream opens an event stream and returns its messages.
func stream(t *testing.T, url string) <-chan sse.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, resp, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	out := make(chan sse.Event, 16)
	go func() {
		defer close(out)
		for ev, err := range sse.Read(resp.Body, nil) {
			if err != nil {
				return
			}
			out <- ev
		}
	}()
	return out
}

func next(t *testing.T, s <-chan sse.Event) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-s:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(testutil.DefaultWait):
		t.Fatal("no event within", testutil.DefaultWait)
	}
	return sse.Event{}
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
}
