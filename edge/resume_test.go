package edge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	sse "github.com/tmaxmax/go-sse"
)

// A browser that reconnects with Last-Event-ID receives every event stored
// while it was away, then the live ones, each once and in order, even
// while events keep coming during the switch.
func TestResume(t *testing.T) {
	f := setup(t, true, edge.Config{Events: []string{"post:*"}}, nil)
	c := open(t, f.url, "")
	f.emit(t, "post:created", 0, 5)
	var last sse.Event
	for range 5 {
		last = c.next(t)
	}
	c.close()
	testutil.WaitUntil(t, "first stream closed", func() bool { return f.h.Stats().Connections == 0 })

	f.emit(t, "post:created", 5, 100) // while disconnected
	// Once the handler has them, they can only come from the catch-up.
	testutil.WaitUntil(t, "events received", func() bool { return f.h.Stats().Received == 105 })
	errs := make(chan error, 1)
	go func() { errs <- f.emitErr("post:created", 105, 50) }() // during the switch
	c = open(t, f.url, last.LastEventID)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	f.emit(t, "post:end", 155, 1)

	got := c.until(t, "post:end")
	if len(got) != 151 {
		t.Errorf("got %d events after the reconnection, want 151", len(got))
	}
	prev := seq(t, last)
	for i, ev := range got {
		if n := parse(t, ev).Data.N; n != 5+i {
			t.Fatalf("event %d has n=%d, want %d", i, n, 5+i)
		}
		if s := seq(t, ev); s <= prev {
			t.Fatalf("event %d has id %d after %d", i, s, prev)
		}
		prev = seq(t, ev)
	}
	if s := f.h.Stats(); s.Resumed != 1 {
		t.Errorf("resumed %d, want 1", s.Resumed)
	}
	stream, err := f.w.JetStream().Stream(t.Context(), subjects.EventStream(f.w.Namespace()))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "catch-up consumer deleted", func() bool {
		info, err := stream.Info(t.Context())
		return err == nil && info.State.Consumers == 1 // the handler's feed
	})
}

// A Last-Event-ID further back than MaxResume resumes MaxResume sequences
// back, after a GapEvent; one that is not a sequence does not resume.
func TestResumeLimits(t *testing.T) {
	f := setup(t, true, edge.Config{Events: []string{"post:created"}, MaxResume: 10}, nil)
	f.emit(t, "post:created", 1, 100) // sequences 1 to 100
	testutil.WaitUntil(t, "events received", func() bool { return f.h.Stats().Received == 100 })

	c := open(t, f.url, "3")
	gap := c.next(t)
	if gap.Type != edge.GapEvent || gap.Data != `{"last_event_id":3,"resumed_at":91}` {
		t.Fatalf("first message %q %q, want the gap from 3 to 91", gap.Type, gap.Data)
	}
	for want := 91; want <= 100; want++ {
		if n := parse(t, c.next(t)).Data.N; n != want {
			t.Fatalf("got n=%d, want %d", n, want)
		}
	}
	for _, id := range []string{"none", "-1", "99999999999"} {
		t.Run(id, func(t *testing.T) {
			c := open(t, f.url, id)
			testutil.WaitUntil(t, "connected", func() bool { return f.h.Stats().Connections == 2 })
			f.emit(t, "post:created", 0, 1)
			if ev := c.next(t); ev.Type != "post:created" || parse(t, ev).Data.N != 0 {
				t.Fatalf("got %q %q, want the live event only", ev.Type, ev.Data)
			}
			c.close()
			testutil.WaitUntil(t, "closed", func() bool { return f.h.Stats().Connections == 1 })
		})
	}
}

// emitErr is emit for goroutines other than the test's.
func (f *fixture) emitErr(event string, from, n int) error {
	for i := range n {
		if err := f.w.Emit(f.ctx, event, payload{N: from + i}); err != nil {
			return fmt.Errorf("emit %d: %w", from+i, err)
		}
	}
	return nil
}

// Hostile Last-Event-ID values: garbage, huge, out of range, zero, with
// line breaks. Each client gets the live events; none breaks another.
func TestHostileLastEventID(t *testing.T) {
	f := setup(t, true, edge.Config{Events: []string{"post:created"}, MaxResume: 5}, nil)
	f.emit(t, "post:created", 0, 10)
	ids := []string{"garbage", strings.Repeat("9", 200_000), "18446744073709551615", "18446744073709551616", "-1", "0", "00000000000000000000001", "1e3", " 3", "\t5"}
	var clients []*client
	for _, id := range ids {
		clients = append(clients, open(t, f.url, id))
	}
	f.emit(t, "post:created", 10, 1)
	for i, c := range clients {
		got := c.until(t, "post:created")
		t.Logf("Last-Event-ID %.20q: %d messages before the live one (last %s)", ids[i], len(got), got[len(got)-1].LastEventID)
		_ = parse(t, got[len(got)-1])
		for _, ev := range got {
			if ev.Type != "post:created" && ev.Type != edge.GapEvent {
				t.Errorf("Last-Event-ID %.20q: unexpected message %q", ids[i], ev.Type)
			}
		}
	}
	// A header with raw newline cannot be sent by net/http; check a raw
	// request with an oversized header is refused cleanly.
	req, _ := http.NewRequest("GET", f.url, nil)
	req.Header.Set("Last-Event-ID", strings.Repeat("1", 2<<20))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		t.Logf("2 MiB Last-Event-ID: %s", resp.Status)
		resp.Body.Close()
	}
	if s := f.h.Stats(); s.Connections > int64(len(ids)) {
		t.Logf("stats %+v", s)
	}
}
