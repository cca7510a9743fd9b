package outbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/nats-io/nuid"
)

func encoded(t *testing.T, e *Encoder, data any) *Scratch {
	t.Helper()
	s := e.Get()
	if err := e.Prepare(s, "post:created", data, false, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Marshal(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDetachHandsOverTheBody: a detached structured body is the scratch's
// buffer, which the next event encoded in the scratch does not overwrite;
// a binary body, the caller's data, is copied.
func TestDetachHandsOverTheBody(t *testing.T) {
	e := &Encoder{Namespace: "ipc", Service: "svc", Mode: codec.Structured, TooLarge: errors.New("too large"),
		MaxPayload: func() int64 { return 1 << 20 }}
	s := encoded(t, e, json.RawMessage(`{"n":1}`))
	body := s.Detach()
	if s.buf != nil || s.Msg.Data != nil {
		t.Fatal("the scratch kept the detached body")
	}
	want := bytes.Clone(body)
	e.Put(s)
	for range 3 {
		e.Put(encoded(t, e, json.RawMessage(`{"n":2,"more":"xxxxxxxxxxxxxxxx"}`)))
	}
	if !bytes.Equal(body, want) {
		t.Fatalf("the detached body changed: %s", body)
	}

	e.Mode = codec.Binary
	data := []byte("raw bytes")
	s = encoded(t, e, data)
	body = s.Detach()
	data[0] = 'X'
	if string(body) != "raw bytes" {
		t.Fatalf("binary body shares the caller's data: %q", body)
	}
}

// TestMarshalSizesTheBuffer: a large event is encoded into one buffer of
// about its size.
func TestMarshalSizesTheBuffer(t *testing.T) {
	e := &Encoder{Namespace: "ipc", Service: "svc", TooLarge: errors.New("too large"), MaxPayload: func() int64 { return 1 << 20 }}
	big := json.RawMessage(`"` + string(bytes.Repeat([]byte("x"), 100_000)) + `"`)
	s := encoded(t, e, big)
	if c, n := cap(s.buf), len(s.Msg.Data); c > n+envelopeRoom {
		t.Fatalf("buffer capacity %d for a body of %d bytes", c, n)
	}
}

// Event ids come from a generator of the mesh's own: they share no prefix
// with the global NUIDs nats.go names inboxes with, and do not repeat.
func TestIDsAreNotTheInboxGenerators(t *testing.T) {
	inbox, id := nuid.Next(), NewID()
	if inbox[:12] == id[:12] {
		t.Fatalf("event id %s shares the prefix of nats.go's NUIDs (%s)", id, inbox)
	}
	seen := map[string]bool{}
	for range 10_000 {
		id := NewID()
		if seen[id] {
			t.Fatalf("id %s twice", id)
		}
		seen[id] = true
	}
}
