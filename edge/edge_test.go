package edge_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
)

func TestPatterns(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := setup(t, m.stream, edge.Config{Events: []string{"post:*"}}, nil)
			c := open(t, f.url, "")
			f.emit(t, "user:login", 0, 1)                             // another event
			f.emit(t, "post:created:again", 0, 1)                     // a segment too many
			f.emit(t, "post:created", 0, 1, mesh.To("exprsn-herald")) // another service's
			f.emit(t, "post:created", 1, 1)                           // served: a broadcast
			f.emit(t, "post:deleted", 2, 1, mesh.ToSelf())            // served: sent to the service
			f.emit(t, "post:end", 3, 1)
			// Broadcasts and events sent to the service come on two
			// subscriptions without a stream, so in any order.
			got := map[string]int{}
			for range 3 {
				ev := c.next(t)
				ce := parse(t, ev)
				if ce.Type != ev.Type || ce.Source != "exprsn-timeline" || ce.ID == "" {
					t.Errorf("message %q: %+v from %q", ev.Type, ce, ev.Data)
				}
				got[ev.Type] = ce.Data.N
				if m.stream != (ev.LastEventID != "") {
					t.Errorf("message %q: id %q with stream %v", ev.Type, ev.LastEventID, m.stream)
				}
			}
			if want := map[string]int{"post:created": 1, "post:deleted": 2, "post:end": 3}; !maps.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			testutil.WaitUntil(t, "sent counted", func() bool { return f.h.Stats().Sent == 3 })
		})
	}
}

func TestAuthorize(t *testing.T) {
	errDown := errors.New("session store down")
	auth := func(r *http.Request) (edge.Filter, error) {
		switch user := r.URL.Query().Get("user"); user {
		case "":
			return nil, edge.ErrUnauthorized
		case "eve":
			return nil, edge.ErrForbidden
		case "down":
			return nil, errDown
		default:
			return func(ev *mesh.Event) bool {
				var p payload
				return ev.Decode(&p) == nil && p.User == user
			}, nil
		}
	}
	f := setup(t, true, edge.Config{Events: []string{"notification:*"}, Authorize: auth}, nil)
	for query, want := range map[string]int{"": 401, "?user=eve": 403, "?user=down": 503} {
		resp, cancel := get(t, http.DefaultClient, f.url+query, "")
		_ = resp.Body.Close()
		cancel()
		if resp.StatusCode != want {
			t.Errorf("GET %q: %s, want %d", query, resp.Status, want)
		}
	}
	ana, bob := open(t, f.url+"?user=ana", ""), open(t, f.url+"?user=bob", "")
	for i := range 20 {
		user := []string{"ana", "bob", "zoe"}[i%3]
		if err := f.w.Emit(t.Context(), "notification:created", payload{N: i, User: user}); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"ana", "bob"} {
		if err := f.w.Emit(t.Context(), "notification:end", payload{User: user}); err != nil {
			t.Fatal(err)
		}
	}
	for user, c := range map[string]*client{"ana": ana, "bob": bob} {
		got := c.until(t, "notification:end")
		if len(got) != 8 { // 7 of the 20, and the end
			t.Errorf("%s got %d messages, want 8", user, len(got))
		}
		for _, ev := range got {
			if ce := parse(t, ev); ce.Data.User != user {
				t.Errorf("%s was sent %s of %s", user, ev.Type, ce.Data.User)
			}
		}
	}
	if s := f.h.Stats(); s.Refused != 3 || s.Accepted != 2 {
		t.Errorf("stats %+v, want 3 refused and 2 accepted", s)
	}
}

func TestHeartbeat(t *testing.T) {
	f := setup(t, false, edge.Config{Events: []string{"post:created"}, Heartbeat: 20 * time.Millisecond}, nil)
	resp, cancel := get(t, http.DefaultClient, f.url, "")
	defer cancel()
	defer resp.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(testutil.DefaultWait)
	for beats := 0; beats < 3; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if l == ": heartbeat" {
				beats++
			}
		case <-deadline:
			t.Fatalf("fewer than 3 heartbeats within %v", testutil.DefaultWait)
		}
	}
}

func TestTooManyConnections(t *testing.T) {
	f := setup(t, false, edge.Config{Events: []string{"post:created"}, MaxConnections: 1, RetryAfter: 3 * time.Second}, nil)
	open(t, f.url, "")
	resp, cancel := get(t, http.DefaultClient, f.url, "")
	defer cancel()
	_ = resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("second stream: %s, Retry-After %q; want 503 and 3", resp.Status, resp.Header.Get("Retry-After"))
	}
	if s := f.h.Stats(); s.Overloaded != 1 || s.Connections != 1 {
		t.Errorf("stats %+v, want 1 overloaded and 1 connection", s)
	}
}

func TestClose(t *testing.T) {
	f := setup(t, true, edge.Config{Events: []string{"post:created"}}, nil)
	c := open(t, f.url, "")
	if err := f.h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev := c.next(t)
	if ev.Type != edge.DroppedEvent || !strings.Contains(ev.Data, edge.ReasonShutdown) {
		t.Fatalf("last message %q %q, want %s with reason %s", ev.Type, ev.Data, edge.DroppedEvent, edge.ReasonShutdown)
	}
	resp, cancel := get(t, http.DefaultClient, f.url, "")
	defer cancel()
	_ = resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("after Close: %s, want 503", resp.Status)
	}
	if d := f.h.Stats().Dropped[edge.ReasonShutdown]; d != 1 {
		t.Errorf("dropped for shutdown: %d, want 1", d)
	}
	info, err := f.w.JetStream().Stream(t.Context(), subjects.EventStream(f.w.Namespace()))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Consumers; n != 0 {
		t.Errorf("%d consumers left on the event stream, want 0", n)
	}
}

func TestConfig(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline")
	tests := []struct {
		name    string
		cfg     edge.Config
		wantErr string
	}{
		{"no authorize", edge.Config{Events: []string{"a"}}, "Authorize is required"},
		{"no events", edge.Config{Authorize: edge.Public}, "names no pattern"},
		{"bad pattern", edge.Config{Events: []string{"a.b"}, Authorize: edge.Public}, "invalid"},
		{"overlap", edge.Config{Events: []string{"post:*", "post:created"}, Authorize: edge.Public}, "overlap"},
		{"overlap >", edge.Config{Events: []string{"post:>", "post:a:b"}, Authorize: edge.Public}, "overlap"},
		{"targets overlap", edge.Config{Events: []string{"a"}, Targets: []string{"*", "all"}, Authorize: edge.Public}, "overlap"},
		{"disjoint", edge.Config{Events: []string{"post:*", "post:a:b", "user:>"}, Authorize: edge.Public}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := edge.New(t.Context(), w, tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = h.Close(t.Context())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestEventName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"post:created", "post:created"},
		{"a-b_C:9", "a-b_C:9"},
		{"post\nid: 1\ndata: x", "post_id:_1_data:_x"},
		{"edge.dropped", "edge_dropped"},
		{"r\r\x00é", "r____"},
		{strings.Repeat("x", 300), strings.Repeat("x", 256)},
	}
	for _, tt := range tests {
		if got := edge.EventName(tt.in); got != tt.want {
			t.Errorf("EventName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every message is framed so that go-sse's parser, as a browser, reads
// back exactly the fields written, whatever the event held.
func TestFramingRoundTrip(t *testing.T) {
	f := setup(t, true, edge.Config{Events: []string{"post:created"}}, nil)
	c := open(t, f.url, "")
	for _, data := range []string{"{\"a\":\n1}", "{\r\n\"a\":\r2\n\n}", `"line\nbreak"`} {
		if err := f.w.Emit(t.Context(), "post:created", []byte(data), mesh.WithContentType("application/json")); err != nil {
			t.Fatal(err)
		}
		ev := c.next(t)
		if !strings.HasSuffix(ev.Data, `"data":`+strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(data)+"}") {
			t.Errorf("data %q does not end with the event's data %q", ev.Data, data)
		}
		if !json.Valid([]byte(ev.Data)) {
			t.Errorf("data is not JSON: %q", ev.Data)
		}
	}
}
