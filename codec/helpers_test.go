package codec_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/exprsn/ipcmesh/codec"
)

// goldenTime has nanoseconds and a non-UTC zone, to show both are kept.
var goldenTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("", 3600))

// fullEvent sets every attribute.
func fullEvent() *codec.Event {
	return &codec.Event{
		ID:              "b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d",
		Source:          "exprsn-timeline",
		Type:            "post:created",
		Time:            goldenTime,
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

// minimalEvent sets only the required attributes.
func minimalEvent() *codec.Event {
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

// assertEvent checks that got equals want: times as instants with the same
// offset, nil and empty Extensions alike, Data exactly (nil is not empty).
// With sortExt, extensions are compared sorted by name.
func assertEvent(t testing.TB, want, got *codec.Event, sortExt bool) {
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
	assert.Equal(t, w, g)
}
