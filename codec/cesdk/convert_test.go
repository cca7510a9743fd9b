package cesdk_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/codec/cesdk"
)

func TestToSDK(t *testing.T) {
	e, err := cesdk.ToSDK(fullEvent())
	require.NoError(t, err)
	require.NoError(t, e.Validate())
	assert.Equal(t, "1.0", e.SpecVersion())
	assert.Equal(t, "b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d", e.ID())
	assert.Equal(t, "exprsn-timeline", e.Source())
	assert.Equal(t, "post:created", e.Type())
	assert.True(t, e.Time().Equal(goldenTime))
	assert.Equal(t, "application/json", e.DataContentType())
	assert.Equal(t, "https://schemas.exprsn.io/post/created/v1.json", e.DataSchema())
	assert.Equal(t, "post/42", e.Subject())
	assert.Equal(t, map[string]any{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"target":      "broadcast",
	}, e.Extensions())
	assert.Equal(t, `{"postId":42,"text":"hello"}`, string(e.Data()))
	assert.False(t, e.DataBase64)

	for ct, wantBase64 := range map[string]bool{
		"":                          false,
		"application/json":          false,
		"text/json; charset=utf-8":  false,
		"text/plain":                true,
		"application/octet-stream":  true,
		"application/vnd.post+json": true, // sdk-go would write it as a JSON string
	} {
		ev := minimalEvent()
		ev.DataContentType = ct
		ev.Data = []byte(`{}`)
		e, err := cesdk.ToSDK(ev)
		require.NoError(t, err, ct)
		assert.Equal(t, wantBase64, e.DataBase64, ct)
	}
}

func TestToSDKErrors(t *testing.T) {
	_, err := cesdk.ToSDK(&codec.Event{ID: "1", Type: "t"})
	require.ErrorIs(t, err, codec.ErrMissingAttribute)

	ev := minimalEvent()
	ev.Source = "not a%zz uri"
	_, err = cesdk.ToSDK(ev)
	require.ErrorIs(t, err, codec.ErrInvalidAttribute)

	ev = minimalEvent()
	ev.DataSchema = "http://x/a b"
	_, err = cesdk.ToSDK(ev)
	require.ErrorIs(t, err, codec.ErrInvalidAttribute)
}

func TestFromSDK(t *testing.T) {
	when := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name  string
		build func(e *event.Event) error
		want  *codec.Event
	}{
		{
			name:  "JSON object data",
			build: func(e *event.Event) error { return e.SetData(event.ApplicationJSON, map[string]int{"a": 1}) },
			want:  &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte(`{"a":1}`)},
		},
		{
			name:  "text data",
			build: func(e *event.Event) error { return e.SetData(event.TextPlain, "hello") },
			want:  &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("hello")},
		},
		{
			name:  "bytes data",
			build: func(e *event.Event) error { return e.SetData("application/octet-stream", []byte{0, 1, 2}) },
			want:  &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 1, 2}},
		},
		{
			name: "JSON bytes sent as base64 are binary, as sdk-go writes them",
			build: func(e *event.Event) error {
				return e.SetData(event.ApplicationJSON, []byte(`[1]`))
			},
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte(`[1]`), DataBase64: true},
		},
		{
			name: "bytes that are not JSON, sent as base64 with no content type",
			build: func(e *event.Event) error {
				e.DataEncoded, e.DataBase64 = []byte{0xff}, true
				return nil
			},
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte{0xff}, DataBase64: true},
		},
		{
			name: "all attributes and typed extensions",
			build: func(e *event.Event) error {
				e.SetTime(when)
				e.SetSubject("sub")
				e.SetDataSchema("https://example.com/schema")
				e.SetExtension("num", 42)
				e.SetExtension("flag", true)
				e.SetExtension("str", "x")
				e.SetExtension("when", when)
				e.SetExtension("uri", &url.URL{Scheme: "https", Host: "example.com"})
				e.SetExtension("bin", []byte{1, 2})
				return nil
			},
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Time: when, Subject: "sub", DataSchema: "https://example.com/schema",
				Extensions: []codec.Extension{
					{Name: "bin", Value: "AQI="}, {Name: "flag", Value: "true"}, {Name: "num", Value: "42"},
					{Name: "str", Value: "x"}, {Name: "uri", Value: "https://example.com"}, {Name: "when", Value: "2025-01-02T03:04:05.000000006Z"},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event.New()
			e.SetID("1")
			e.SetSource("s")
			e.SetType("t")
			require.NoError(t, tt.build(&e))
			got, err := cesdk.FromSDK(e)
			require.NoError(t, err)
			assertEvent(t, tt.want, &got, false)
		})
	}
}

func TestFromSDKErrors(t *testing.T) {
	_, err := cesdk.FromSDK(event.Event{})
	require.ErrorIs(t, err, codec.ErrMissingAttribute)

	old := event.New(event.CloudEventsVersionV03)
	old.SetID("1")
	old.SetSource("s")
	old.SetType("t")
	_, err = cesdk.FromSDK(old)
	require.ErrorIs(t, err, codec.ErrSpecVersion)

	e := event.New()
	e.SetID("1")
	e.SetSource("s")
	e.SetType("t")
	e.SetDataContentType(event.ApplicationJSON)
	e.DataEncoded = []byte{0xff} // not JSON, and not marked DataBase64
	_, err = cesdk.FromSDK(e)
	require.ErrorIs(t, err, codec.ErrInvalidData)
}

func TestSDKRoundTrip(t *testing.T) {
	for _, ev := range []*codec.Event{
		fullEvent(), minimalEvent(),
		{ID: "1", Source: "s", Type: "t", DataContentType: "image/png", Data: []byte{0x89, 'P'}},
		{ID: "1", Source: "/a/b?c#d", Type: "t", DataContentType: "text/plain", Data: []byte("é\n")},
	} {
		e, err := cesdk.ToSDK(ev)
		require.NoError(t, err)
		back, err := cesdk.FromSDK(e)
		require.NoError(t, err)
		assertEvent(t, ev, &back, true)
	}
}

// TestSDKJSONInterop checks the envelope both ways through sdk-go's JSON
// event format code, without a server.
func TestSDKJSONInterop(t *testing.T) {
	for _, ev := range []*codec.Event{
		fullEvent(),
		minimalEvent(),
		{ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 0xff}},
		{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("text \"quoted\"")},
		{ID: "1", Source: "s", Type: "t", Subject: "é€😀 \"\\\n\x01", Extensions: []codec.Extension{{Name: "x", Value: "\t"}}},
	} {
		// Ours -> sdk-go.
		body, err := codec.AppendStructured(nil, ev)
		require.NoError(t, err)
		var e event.Event
		require.NoError(t, json.Unmarshal(body, &e), "sdk-go reads %s", body)
		require.NoError(t, e.Validate())
		got, err := cesdk.FromSDK(e)
		require.NoError(t, err)
		assertEvent(t, ev, &got, true)

		// sdk-go -> ours. sdk-go writes time in UTC, extensions sorted.
		e, err = cesdk.ToSDK(ev)
		require.NoError(t, err)
		body, err = json.Marshal(e)
		require.NoError(t, err)
		var back codec.Event
		require.NoError(t, codec.Decode(nil, body, &back), "we read %s", body)
		want := *ev
		want.Time = ev.Time.UTC()
		assertEvent(t, &want, &back, true)
	}
}

// TestSDKExtensionTypes shows how extension values that sdk-go writes as JSON
// numbers and booleans arrive here.
func TestSDKExtensionTypes(t *testing.T) {
	e := event.New()
	e.SetID("1")
	e.SetSource("s")
	e.SetType("t")
	e.SetExtension("num", 42)
	e.SetExtension("flag", false)
	e.SetExtension("ts", types.Timestamp{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	body, err := json.Marshal(e)
	require.NoError(t, err)
	assert.Contains(t, string(body), `"num":42`)
	var ev codec.Event
	require.NoError(t, codec.Decode(nil, body, &ev))
	assert.Equal(t, []codec.Extension{{Name: "flag", Value: "false"}, {Name: "num", Value: "42"}, {Name: "ts", Value: "2025-01-01T00:00:00Z"}}, ev.Extensions)
}
