// Package guides_test holds the runnable examples of the pattern guides in
// this directory that no example service shows already.
package guides_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/replay"
)

// Example_replay re-delivers the posts a new service missed to it alone,
// from the namespace's event stream (docs/guides/replay.md).
func Example_replay() {
	dir, err := os.MkdirTemp("", "guide-replay-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(embedded.Options(dir))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	connect := func(service string) *mesh.Worker {
		w, err := mesh.Connect(ctx, mesh.Config{
			Service: service,
			Servers: []string{srv.ClientURL()},
			Stream:  mesh.StreamConfig{Manage: true}, // the event stream keeps every event
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			panic(err)
		}
		return w
	}

	// Timeline posts while the search service does not exist yet.
	timeline := connect("exprsn-timeline")
	defer timeline.Close(ctx)
	for _, id := range []string{"p1", "p2", "p3"} {
		if err := timeline.Emit(ctx, "post:created", map[string]string{"id": id}, mesh.WithID(id)); err != nil {
			fmt.Println(err)
			return
		}
	}

	// Search starts and asks for what it missed.
	search := connect("exprsn-search")
	defer search.Close(ctx)
	got := make(chan *mesh.Event, 3)
	_, err = search.On(ctx, "post:created", mesh.HandlerFunc(func(_ context.Context, ev *mesh.Event) error {
		got <- ev
		return nil
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	progress, err := replay.Replay(ctx, search.JetStream(), replay.Query{Event: "post:created"}, replay.Options{To: "exprsn-search"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("replayed %d of %d\n", progress.Delivered, progress.Matched)

	var lines []string
	for range 3 {
		select {
		case ev := <-got:
			lines = append(lines, fmt.Sprintf("%s from %s to %s, replayed %t", ev.ID, ev.Source, ev.Target, ev.Replayed))
		case <-ctx.Done():
			fmt.Println("timed out")
			return
		}
	}
	slices.Sort(lines) // handlers run concurrently
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// replayed 3 of 3
	// p1 from exprsn-timeline to exprsn-search, replayed true
	// p2 from exprsn-timeline to exprsn-search, replayed true
	// p3 from exprsn-timeline to exprsn-search, replayed true
}
