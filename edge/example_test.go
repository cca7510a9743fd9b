package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	sse "github.com/tmaxmax/go-sse"
)

// A service serves its new posts to every browser at /events, numbered
// with their event-stream sequence so that a browser resumes where it left
// off. The browser side is EventSource; here go-sse's parser reads the
// stream as a browser would.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "edge-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ns, err := embedded.Start(embedded.Options(dir))
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Shutdown()

	w, err := mesh.Connect(ctx, mesh.Config{
		Service: "exprsn-timeline",
		Servers: []string{ns.ClientURL()},
		Stream:  mesh.StreamConfig{Manage: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	h, err := edge.New(ctx, w, edge.Config{Events: []string{"post:created"}, Authorize: edge.Public})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)
	mux := http.NewServeMux()
	mux.Handle("GET /events", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/events") // new EventSource("/events")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := w.Emit(ctx, "post:created", map[string]string{"text": "hello"}); err != nil {
		log.Fatal(err)
	}
	for ev, err := range sse.Read(resp.Body, nil) {
		if err != nil {
			log.Fatal(err)
		}
		var ce struct {
			Source string            `json:"source"`
			Data   map[string]string `json:"data"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &ce); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("id %s, event %s from %s: %s\n", ev.LastEventID, ev.Type, ce.Source, ce.Data["text"])
		break
	}
	// Output: id 1, event post:created from exprsn-timeline: hello
}
