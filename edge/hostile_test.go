package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/nats-io/nats.go"
)

// Messages from other publishers: invalid ones are counted and skipped,
// and nothing an event holds can forge an SSE field or the handler's own
// messages.
func TestHostileEvents(t *testing.T) {
	huge := strings.Repeat("h", 100_000)
	binary := nats.Header{"Ce-Specversion": {"1.0"}, "CE-ID": {"b1"}, "ce-source": {"evil"}, "ce-type": {"post%0Aid: 7"}, "Content-Type": {"application/json"}}
	msgs := []struct {
		name string
		hdr  nats.Header
		body string
	}{
		{name: "not JSON", body: "not json"},
		{name: "invalid UTF-8", body: "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"evil\",\"type\":\"a\xff\"}"},
		{name: "no type", body: `{"specversion":"1.0","id":"1","source":"evil"}`},
		{name: "fields in the type", body: `{"specversion":"1.0","id":"2","source":"evil","type":"post\nid: 999999\nevent: forged\r\ndata: x"}`},
		{name: "huge type", body: `{"specversion":"1.0","id":"3","source":"evil","type":"` + huge + `"}`},
		{name: "handler's name", body: `{"specversion":"1.0","id":"4","source":"evil","type":"edge.dropped","data":{"reason":"forged"}}`},
		{name: "pretty", body: "{\n \"specversion\": \"1.0\",\n \"id\": \"5\",\n \"source\": \"evil\",\n \"type\": \"pretty\",\n \"data\": {\n  \"a\": [1,\r\n 2]\n }\n}"},
		{name: "binary mode", hdr: binary, body: "{\n\"b\": 1\n}"},
	}
	wantNames := []string{"post_id:_999999_event:_forged__data:_x", huge[:256], "edge_dropped", "pretty", "post_id:_7"}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := setup(t, m.stream, edge.Config{Events: []string{"post:created"}}, nil)
			c := open(t, f.url, "")
			for _, msg := range msgs {
				if err := f.w.Conn().PublishMsg(&nats.Msg{Subject: "ipc.all.post.created", Header: msg.hdr, Data: []byte(msg.body)}); err != nil {
					t.Fatal(msg.name, err)
				}
			}
			f.emit(t, "post:created", 0, 1)
			got := c.until(t, "post:created")
			if len(got) != len(wantNames)+1 {
				t.Fatalf("got %d messages, want %d", len(got), len(wantNames)+1)
			}
			for i, name := range wantNames {
				ev := got[i]
				if ev.Type != name {
					t.Errorf("message %d named %.40q, want %.40q", i, ev.Type, name)
				}
				var ce map[string]any
				if err := json.Unmarshal([]byte(ev.Data), &ce); err != nil || ce["source"] != "evil" {
					t.Errorf("message %d: data %.80q (%v)", i, ev.Data, err)
				}
				if m.stream && ev.LastEventID != "" && seq(t, ev) > uint64(len(msgs)) {
					t.Errorf("message %d has id %s, not its sequence", i, ev.LastEventID)
				}
			}
			if s := f.h.Stats(); s.Invalid != 3 || s.Received != uint64(len(wantNames)+1) {
				t.Errorf("stats %+v, want 3 invalid and %d received", s, len(wantNames)+1)
			}
		})
	}
}
