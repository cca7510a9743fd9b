package codec_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

// goldenStructured is the wire contract: the exact bytes of fullEvent in
// structured mode. Changing it breaks every other implementation of the
// protocol, so change it only with a protocol version change.
const goldenStructured = `{"specversion":"1.0",` +
	`"id":"b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d",` +
	`"source":"exprsn-timeline",` +
	`"type":"post:created",` +
	`"time":"2025-03-14T15:09:26.535897932+01:00",` +
	`"datacontenttype":"application/json",` +
	`"dataschema":"https://schemas.exprsn.io/post/created/v1.json",` +
	`"subject":"post/42",` +
	`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",` +
	`"target":"broadcast",` +
	`"data":{"postId":42,"text":"hello"}}`

func TestAppendStructuredGolden(t *testing.T) {
	got, err := codec.AppendStructured(nil, fullEvent())
	require.NoError(t, err)
	assert.Equal(t, goldenStructured, string(got))
}

func TestAppendStructured(t *testing.T) {
	tests := []struct {
		name string
		ev   *codec.Event
		want string
	}{
		{
			name: "required attributes only",
			ev:   minimalEvent(),
			want: `{"specversion":"1.0","id":"1","source":"exprsn-auth","type":"user:login"}`,
		},
		{
			name: "escapes",
			ev: &codec.Event{
				ID: `q"b\s/`, Source: "nl\ncr\rtab\t", Type: "ctl\x00\x01\x08\x0c\x1f\x7f",
				Subject: "é€😀\u2028",
			},
			want: `{"specversion":"1.0","id":"q\"b\\s/","source":"nl\ncr\rtab\t",` +
				`"type":"ctl\u0000\u0001\u0008\u000c\u001f` + "\x7f" + `","subject":"é€😀` + "\u2028" + `"}`,
		},
		{
			name: "UTC time, no fraction",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2024-02-29T23:59:59Z"}`,
		},
		{
			name: "JSON data without content type",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte(`[1,"two",null]`)},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":[1,"two",null]}`,
		},
		{
			name: "JSON string data",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte(`"hi"`)},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/json","data":"hi"}`,
		},
		{
			name: "whitespace around JSON data dropped",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte(" \n{ \"a\" : 1 }\t\r\n")},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":{ "a" : 1 }}`,
		},
		{
			name: "+json data inline",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/vnd.x+json; charset=utf-8", Data: []byte(`{}`)},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/vnd.x+json; charset=utf-8","data":{}}`,
		},
		{
			name: "binary data as base64",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 0xff, 'a'}},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"application/octet-stream","data_base64":"AP9h"}`,
		},
		{
			name: "text data as base64",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("hello")},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data_base64":"aGVsbG8="}`,
		},
		{
			name: "empty binary data",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte{}},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data_base64":""}`,
		},
		{
			name: "nil data is absent",
			ev:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain"},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain"}`,
		},
		{
			name: "extension values are strings",
			ev: &codec.Event{ID: "1", Source: "s", Type: "t", Extensions: []codec.Extension{
				{Name: "z", Value: "42"}, {Name: "a", Value: "true"}, {Name: "e", Value: ""},
			}},
			want: `{"specversion":"1.0","id":"1","source":"s","type":"t","z":"42","a":"true","e":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codec.AppendStructured([]byte("prefix:"), tt.ev)
			require.NoError(t, err)
			assert.Equal(t, "prefix:"+tt.want, string(got))
		})
	}
}

func TestTimeOffsetsRFC3339CannotState(t *testing.T) {
	for _, off := range []int{30, -(19*60 + 32), 24 * 3600, -25 * 3600} {
		ev := minimalEvent()
		ev.Time = time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("", off))
		for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
			msg := nats.NewMsg("s")
			require.NoError(t, codec.EncodeMsg(msg, ev, mode))
			var got codec.Event
			require.NoError(t, codec.DecodeMsg(msg, &got), "offset %d, %s", off, mode)
			assert.True(t, got.Time.Equal(ev.Time), "offset %d, %s: got %v", off, mode, got.Time)
			_, gotOff := got.Time.Zone()
			assert.Zero(t, gotOff, "written in UTC")
		}
	}
}

func TestAppendStructuredErrorLeavesBuffer(t *testing.T) {
	ev := fullEvent()
	ev.Extensions = append(ev.Extensions, codec.Extension{Name: "Bad", Value: "x"})
	dst := append(make([]byte, 0, 1024), "keep"...)
	got, err := codec.AppendStructured(dst, ev)
	require.ErrorIs(t, err, codec.ErrInvalidAttribute)
	assert.Equal(t, "keep", string(got))
}

func TestAppendStructuredNoAllocs(t *testing.T) {
	ev := fullEvent()
	buf := make([]byte, 0, 2048)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = codec.AppendStructured(buf[:0], ev); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	ev.DataContentType = "application/octet-stream"
	allocs = testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = codec.AppendStructured(buf[:0], ev); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "base64 data")
}

func TestEncodeMsgStructured(t *testing.T) {
	msg := &nats.Msg{
		Subject: "ipc.all.post.created",
		Reply:   "_INBOX.1",
		Header: nats.Header{
			"Nats-Msg-Id":    {"keep"},
			"ce-id":          {"stale"},
			"CE-Subject":     {"stale"},
			"content-type":   {"text/plain"},
			"X-Not-An-Event": {"keep"},
		},
	}
	require.NoError(t, codec.EncodeMsg(msg, fullEvent(), codec.Structured))
	assert.Equal(t, goldenStructured, string(msg.Data))
	assert.Equal(t, "ipc.all.post.created", msg.Subject)
	assert.Equal(t, "_INBOX.1", msg.Reply)
	assert.Equal(t, nats.Header{"Nats-Msg-Id": {"keep"}, "X-Not-An-Event": {"keep"}}, msg.Header)

	fresh := &nats.Msg{Subject: "s"}
	require.NoError(t, codec.EncodeMsg(fresh, fullEvent(), codec.Structured))
	assert.Nil(t, fresh.Header, "structured mode sets no header")
	assert.Equal(t, goldenStructured, string(fresh.Data))
}

func TestEncodeMsgDoesNotReuseData(t *testing.T) {
	// A decoded event's Data aliases the body; encoding it back into the
	// same message must not overwrite the bytes it reads.
	msg := &nats.Msg{Subject: "s"}
	require.NoError(t, codec.EncodeMsg(msg, fullEvent(), codec.Structured))
	var ev codec.Event
	require.NoError(t, codec.DecodeMsg(msg, &ev))
	ev.ID = "another-id-that-is-longer-than-the-first-one-by-far"
	require.NoError(t, codec.EncodeMsg(msg, &ev, codec.Structured))
	var again codec.Event
	require.NoError(t, codec.DecodeMsg(msg, &again))
	assert.Equal(t, `{"postId":42,"text":"hello"}`, string(again.Data))
}

func TestEncodeMsgErrors(t *testing.T) {
	for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
		t.Run(mode.String(), func(t *testing.T) {
			msg := &nats.Msg{Subject: "s", Data: []byte("old")}
			ev := minimalEvent()
			ev.ID = ""
			require.ErrorIs(t, codec.EncodeMsg(msg, ev, mode), codec.ErrMissingAttribute)
			assert.Equal(t, "old", string(msg.Data), "msg unchanged on error")
			assert.Nil(t, msg.Header, "msg unchanged on error")
		})
	}
	err := codec.EncodeMsg(&nats.Msg{}, minimalEvent(), codec.Mode(9))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Mode(9)")
}
