// Package codectest holds the fixtures and helpers that the tests of package
// codec and of package cesdk share. Only tests import it.
package codectest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

// GoldenTime has nanoseconds and a non-UTC zone, to show both are kept.
var GoldenTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", 3600))

// FullEvent sets every attribute.
func FullEvent() *codec.Event {
	return &codec.Event{
		ID:              "b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d",
		Source:          "exprsn-timeline",
		Type:            "post:created",
		Time:            GoldenTime,
		DataContentType: "application/json",
		DataSchema:      "https://schemas.exprsn.io/post/created/v1.json",
		Subject:         "post/42",
		Extensions: []codec.Extension{
			{Name: "traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			{Name: "target", Value: "broadcast"},
		},
		Data: []byte(`{"postId":42,"text":"hello"}`),
	}
}

// MinimalEvent sets only the required attributes.
func MinimalEvent() *codec.Event {
	return &codec.Event{ID: "1", Source: "exprsn-auth", Type: "user:login"}
}

// sameTime reports whether a and b are the same instant in the same zone
// offset (locations may be distinct values).
func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	_, oa := a.Zone()
	_, ob := b.Zone()
	return a.Equal(b) && oa == ob
}

// AssertEvent checks that got equals want: times as instants with the same
// offset, nil and empty Extensions alike, Data exactly (nil is not empty),
// DataBase64 as what it means (DataIsJSON). With sortExt, extensions are
// compared sorted by name.
func AssertEvent(t testing.TB, want, got *codec.Event, sortExt bool) {
	t.Helper()
	if !sameTime(want.Time, got.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	w, g := *want, *got
	w.Time, g.Time = time.Time{}, time.Time{}
	norm := func(x []codec.Extension) []codec.Extension {
		if len(x) == 0 {
			return nil
		}
		x = slices.Clone(x)
		if sortExt {
			slices.SortFunc(x, func(a, b codec.Extension) int { return strings.Compare(a.Name, b.Name) })
		}
		return x
	}
	w.Extensions, g.Extensions = norm(w.Extensions), norm(g.Extensions)
	assert.Equal(t, w.Data == nil, g.Data == nil, "Data nil-ness")
	assert.Equal(t, string(w.Data), string(g.Data), "Data")
	w.Data, g.Data = nil, nil
	w.DataBase64, g.DataBase64 = !want.DataIsJSON(), !got.DataIsJSON()
	assert.Equal(t, w, g)
}

// BenchData is 256 bytes of JSON, the size the mesh's benchmarks use.
var BenchData = func() []byte {
	s := `{"postId":"p-7f3a9c2e","author":{"id":"u-1024","name":"Ada Lovelace"},"tags":["go","nats","events"],"likes":42,"draft":false,"text":"`
	s += strings.Repeat("x", 256-len(s)-2) + `"}`
	if len(s) != 256 || !json.Valid([]byte(s)) {
		panic("bad bench data")
	}
	return []byte(s)
}()

// BenchEvent has the attribute set the mesh sends: id, source, type, time,
// datacontenttype application/json, one extension, 256 B of JSON data.
func BenchEvent() *codec.Event {
	return &codec.Event{
		ID:              "0f8e3c2a-6b1d-4e5f-9a7b-3c2d1e0f9a8b",
		Source:          "exprsn-timeline",
		Type:            "post:created",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		DataContentType: codec.ContentTypeJSON,
		Data:            BenchData,
		Extensions:      []codec.Extension{{Name: "traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
	}
}

// InteropWait bounds each wait for a message in the tests that go through a
// NATS server.
const InteropWait = 10 * time.Second

// Connect connects plain nats.go to the server at url and closes the
// connection in t.Cleanup.
func Connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}
