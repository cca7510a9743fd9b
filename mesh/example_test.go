package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
)

// Post is the data of "post:created" in these examples.
type Post struct {
	ID     string `json:"id"`
	Author string `json:"author"`
}

// Connect a worker for a service, use it, close it. The examples below
// need a NATS server (meshctl serve runs one with JetStream), so they are
// compiled but not run.
func Example() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline", Servers: []string{"nats://127.0.0.1:4222"}})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)
	if err := w.Emit(ctx, "post:created", Post{ID: "p1", Author: "ana"}); err != nil {
		log.Print(err)
	}
}

func ExampleWorker_Emit() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	// A broadcast, to every service listening for "post:created".
	if err := w.Emit(ctx, "post:created", Post{ID: "p1", Author: "ana"}); err != nil {
		log.Print(err)
	}
	// One instance of one service, with an id a retry can repeat.
	err = w.Emit(ctx, "notification:trigger", map[string]string{"user": "ana"},
		mesh.To("exprsn-herald"), mesh.WithID("post-p1-notify"))
	if errors.Is(err, mesh.ErrTooLarge) {
		log.Print("the notification is too large to send")
	}
}

// Store an import of many posts with one call: the server acknowledges
// them every few hundred (nats-server 2.14 or later), and a failure says
// how many, from the first, were stored.
func ExampleWorker_EmitBatch() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	posts := []Post{{ID: "p1", Author: "ana"}, {ID: "p2", Author: "bo"}}
	events := make([]mesh.BatchEvent, len(posts))
	for i, p := range posts {
		// Ids a retry can repeat: the stream stores each once.
		events[i] = mesh.BatchEvent{Event: "post:imported", Data: p,
			Options: []mesh.BatchEventOption{mesh.WithID("import-" + p.ID)}}
	}
	_, err = w.EmitBatch(ctx, events)
	var be *mesh.EmitBatchError
	if errors.As(err, &be) {
		log.Printf("%d posts stored; retry from %s: %v", be.Stored, posts[be.Stored].ID, be.Err)
	}
}

func ExampleWorker_On() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-herald"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	sub, err := w.On(ctx, "post:created", mesh.Typed(func(ctx context.Context, ev *mesh.Event, p Post) error {
		fmt.Printf("%s created post %s\n", ev.Source, p.ID)
		return nil
	}), mesh.Concurrency(16), mesh.Timeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Off(ctx)
}

func ExampleWorker_Request() {
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	reply, err := w.Request(ctx, "exprsn-auth", "session:validate", map[string]string{"token": "t1"})
	var remote *mesh.RemoteError
	switch {
	case errors.Is(err, mesh.ErrNoResponders):
		log.Print("no instance of exprsn-auth is running")
	case errors.As(err, &remote) && remote.Code == 401:
		log.Print("not logged in")
	case err != nil:
		log.Print(err)
	default:
		var session struct{ User string }
		if err := reply.Decode(&session); err == nil {
			fmt.Println("logged in as", session.User)
		}
	}
}

func ExampleWorker_OnDurable() {
	ctx := context.Background()
	// The namespace's event stream keeps the events while the worker is
	// away; Manage creates it if an operator has not.
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-herald", Stream: mesh.StreamConfig{Manage: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	_, err = w.OnDurable(ctx, "notification:send", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		var n struct{ To, Text string }
		if err := ev.Decode(&n); err != nil {
			return mesh.Permanent(err) // a retry would not decode either: dead-letter it
		}
		return deliver(ctx, n.To, n.Text) // an error is retried after a backoff
	}), mesh.MaxDeliver(5), mesh.Backoff(time.Second, 30*time.Second), mesh.OrderedByKey())
	if err != nil {
		log.Fatal(err)
	}
}

func deliver(context.Context, string, string) error { return nil }
