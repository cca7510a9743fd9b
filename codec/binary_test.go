package codec_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

// goldenBinary is the binary-mode wire contract for fullEvent.
var goldenBinary = nats.Header{
	"ce-specversion": {"1.0"},
	"ce-id":          {"b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d"},
	"ce-source":      {"exprsn-timeline"},
	"ce-type":        {"post:created"},
	"ce-time":        {"2025-03-14T15:09:26.535897932+01:00"},
	"Content-Type":   {"application/json"},
	"ce-dataschema":  {"https://schemas.exprsn.io/post/created/v1.json"},
	"ce-subject":     {"post/42"},
	"ce-traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	"ce-target":      {"broadcast"},
}

func TestSetBinaryHeadersGolden(t *testing.T) {
	h := nats.Header{}
	require.NoError(t, codec.SetBinaryHeaders(h, fullEvent()))
	assert.Equal(t, goldenBinary, h)

	msg := nats.NewMsg("ipc.all.post.created")
	require.NoError(t, codec.EncodeMsg(msg, fullEvent(), codec.Binary))
	assert.Equal(t, goldenBinary, msg.Header)
	assert.Equal(t, `{"postId":42,"text":"hello"}`, string(msg.Data), "payload is the data, unchanged")
}

func TestSetBinaryHeadersPercentEncoding(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{name: "binding draft example", value: "Euro € 😀", want: "Euro%20%E2%82%AC%20%F0%9F%98%80"},
		{name: "quote and percent", value: `say "100%"`, want: "say%20%22100%25%22"},
		{name: "controls and DEL", value: "a\tb\nc\x00\x7f", want: "a%09b%0Ac%00%7F"},
		{name: "printable ASCII untouched", value: "!#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", want: "!#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
		{name: "long value with one space at the end", value: "abcdefghijklmnopqrstuvwxyz ", want: "abcdefghijklmnopqrstuvwxyz%20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := minimalEvent()
			ev.Subject = tt.value
			ev.SetExtension("x", tt.value)
			h := nats.Header{}
			require.NoError(t, codec.SetBinaryHeaders(h, ev))
			assert.Equal(t, tt.want, h.Get("ce-subject"))
			assert.Equal(t, tt.want, h.Get("ce-x"))

			var got codec.Event
			require.NoError(t, codec.Decode(h, nil, &got))
			assert.Equal(t, tt.value, got.Subject)
		})
	}
}

func TestSetBinaryHeadersContentType(t *testing.T) {
	tests := []struct {
		ct   string
		want nats.Header // Content-Type and ce-datacontenttype only
	}{
		{ct: "application/json; charset=utf-8", want: nats.Header{"Content-Type": {"application/json; charset=utf-8"}}},
		{ct: "text/x-100%", want: nats.Header{"Content-Type": {"text/x-100%"}}},
		{ct: "text/plain; name=\"é\"", want: nats.Header{"ce-datacontenttype": {"text/plain;%20name=%22%C3%A9%22"}}},
		{ct: " text/plain", want: nats.Header{"ce-datacontenttype": {"%20text/plain"}}},
		{ct: "text/plain\r\nX-Injected: 1", want: nats.Header{"ce-datacontenttype": {"text/plain%0D%0AX-Injected:%201"}}},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			ev := minimalEvent()
			ev.DataContentType = tt.ct
			h := nats.Header{}
			require.NoError(t, codec.SetBinaryHeaders(h, ev))
			got := nats.Header{}
			for _, k := range []string{"Content-Type", "ce-datacontenttype"} {
				if v, ok := h[k]; ok {
					got[k] = v
				}
			}
			assert.Equal(t, tt.want, got)

			var back codec.Event
			require.NoError(t, codec.Decode(h, nil, &back))
			assert.Equal(t, tt.ct, back.DataContentType)
		})
	}
}

func TestSetBinaryHeadersReplacesStaleHeaders(t *testing.T) {
	h := nats.Header{
		"Nats-Msg-Id":  {"keep"},
		"ce-id":        {"old"},
		"CE-ID":        {"old"},
		"ce-subject":   {"old"},
		"ce-old":       {"old"},
		"ce-time":      {"old"},
		"content-type": {"old"},
		"Content-Type": {"old"},
	}
	ev := minimalEvent()
	ev.DataContentType = "text/plain"
	require.NoError(t, codec.SetBinaryHeaders(h, ev))
	assert.Equal(t, nats.Header{
		"Nats-Msg-Id":    {"keep"},
		"ce-specversion": {"1.0"},
		"ce-id":          {"1"},
		"ce-source":      {"exprsn-auth"},
		"ce-type":        {"user:login"},
		"Content-Type":   {"text/plain"},
	}, h)

	// Invalid event: h unchanged.
	before := nats.Header{"ce-id": {"x"}}
	require.ErrorIs(t, codec.SetBinaryHeaders(before, &codec.Event{}), codec.ErrMissingAttribute)
	assert.Equal(t, nats.Header{"ce-id": {"x"}}, before)

	require.Error(t, codec.SetBinaryHeaders(nil, ev))
}

func TestDecodeBinary(t *testing.T) {
	base := func() nats.Header {
		return nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
	}
	with := func(kv ...string) nats.Header {
		h := base()
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		header nats.Header
		body   string
		want   *codec.Event
	}{
		{name: "golden", header: goldenBinary, body: `{"postId":42,"text":"hello"}`, want: func() *codec.Event {
			ev := fullEvent()
			ev.Extensions[0], ev.Extensions[1] = ev.Extensions[1], ev.Extensions[0] // sorted by name
			return ev
		}()},
		{
			name:   "header names in any case",
			header: nats.Header{"Ce-Specversion": {"1.0"}, "CE-ID": {"1"}, "ce-Source": {"s"}, "cE-tYPE": {"t"}, "CONTENT-TYPE": {"text/plain"}, "CE-TRACEPARENT": {"tp"}},
			body:   "hi",
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("hi"), Extensions: []codec.Extension{{Name: "traceparent", Value: "tp"}}},
		},
		{
			name:   "lowercase percent hex, unnecessary escapes",
			header: with("ce-subject", "%e2%82%ac%41%2f"),
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", Subject: "€A/"},
		},
		{
			name:   "quoted string, as older senders wrote",
			header: with("ce-subject", `"a b \"c\" \\ %41"`),
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", Subject: `a b "c" \ A`},
		},
		{
			name:   "surrounding whitespace",
			header: with("ce-subject", " \tpost/1 "),
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", Subject: "post/1"},
		},
		{
			name:   "raw UTF-8 accepted",
			header: with("ce-subject", "é"),
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", Subject: "é"},
		},
		{
			name:   "ce-datacontenttype wins over Content-Type",
			header: with("ce-datacontenttype", "application/json", "Content-Type", "application/cloudevents+json"),
			body:   "{}",
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte("{}")},
		},
		{
			name:   "time",
			header: with("ce-time", "2025-03-14T15:09:26.535897932+01:00"),
			want:   &codec.Event{ID: "1", Source: "s", Type: "t", Time: goldenTime},
		},
		{
			name:   "extensions sorted",
			header: with("ce-zeta", "1", "ce-alpha", "2", "ce-mid", ""),
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Extensions: []codec.Extension{
				{Name: "alpha", Value: "2"}, {Name: "mid", Value: ""}, {Name: "zeta", Value: "1"},
			}},
		},
		{
			name:   "non-JSON body with no content type is binary data",
			header: base(), body: "not json",
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte("not json"), DataBase64: true},
		},
		{
			name:   "non-JSON body under a JSON type is binary data",
			header: with("Content-Type", "application/json"), body: "{",
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte("{"), DataBase64: true},
		},
		{
			name:   "JSON body with no content type is JSON data",
			header: base(), body: ` [1] `,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte(` [1] `)},
		},
		{name: "empty body is no data", header: base(), want: &codec.Event{ID: "1", Source: "s", Type: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			require.NoError(t, codec.Decode(tt.header, body, &ev))
			assertEvent(t, tt.want, &ev, false)
		})
	}
}

func TestDecodeBinaryErrors(t *testing.T) {
	with := func(kv ...string) nats.Header {
		h := nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name     string
		header   nats.Header
		wantErr  error
		wantAttr string
	}{
		{name: "bad percent-encoding", header: with("ce-subject", "a%zzb"), wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "truncated percent-encoding", header: with("ce-subject", "a%4"), wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "lone percent", header: with("ce-x", "100%"), wantErr: codec.ErrInvalidAttribute, wantAttr: "x"},
		{name: "overlong UTF-8", header: with("ce-subject", "%C0%A0"), wantErr: codec.ErrInvalidUTF8, wantAttr: "subject"},
		{name: "encoded invalid UTF-8", header: with("ce-dataschema", "%FF"), wantErr: codec.ErrInvalidUTF8, wantAttr: "dataschema"},
		{name: "raw invalid UTF-8", header: with("ce-subject", "\xff"), wantErr: codec.ErrInvalidUTF8, wantAttr: "subject"},
		{name: "invalid UTF-8 Content-Type", header: with("Content-Type", "\xff"), wantErr: codec.ErrInvalidUTF8, wantAttr: "datacontenttype"},
		{name: "unterminated quoted string", header: with("ce-subject", `"abc`), wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "text after quoted string", header: with("ce-subject", `"a"b`), wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "repeated header", header: with("ce-subject", "a", "ce-subject", "b"), wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "same header in two cases", header: with("CE-ID", "2"), wantErr: codec.ErrInvalidAttribute, wantAttr: "id"},
		{name: "same extension in two cases", header: with("ce-x", "1", "CE-X", "2"), wantErr: codec.ErrInvalidAttribute, wantAttr: "x"},
		{name: "Content-Type twice", header: with("Content-Type", "a/b", "content-type", "a/b"), wantErr: codec.ErrInvalidAttribute, wantAttr: "datacontenttype"},
		{name: "specversion 0.3", header: nats.Header{"ce-specversion": {"0.3"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}, wantErr: codec.ErrSpecVersion, wantAttr: "specversion"},
		{name: "empty specversion", header: nats.Header{"ce-specversion": {""}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}, wantErr: codec.ErrMissingAttribute, wantAttr: "specversion"},
		{name: "no id", header: nats.Header{"ce-specversion": {"1.0"}, "ce-source": {"s"}, "ce-type": {"t"}}, wantErr: codec.ErrMissingAttribute, wantAttr: "id"},
		{name: "empty source", header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {""}, "ce-type": {"t"}}, wantErr: codec.ErrMissingAttribute, wantAttr: "source"},
		{name: "no type", header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}}, wantErr: codec.ErrMissingAttribute, wantAttr: "type"},
		{name: "bad time", header: with("ce-time", "yesterday"), wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "bad extension name", header: with("ce-trace_parent", "x"), wantErr: codec.ErrInvalidAttribute},
		{name: "empty extension name", header: with("ce-", "x"), wantErr: codec.ErrInvalidAttribute},
		{name: "reserved name", header: with("ce-data", "x"), wantErr: codec.ErrInvalidAttribute, wantAttr: "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			err := codec.Decode(tt.header, nil, &ev)
			require.ErrorIs(t, err, tt.wantErr)
			var ce *codec.Error
			require.ErrorAs(t, err, &ce)
			if tt.wantAttr != "" {
				assert.Equal(t, tt.wantAttr, ce.Attribute)
			}
		})
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   *codec.Event
	}{
		{name: "full", ev: fullEvent()},
		{name: "minimal", ev: minimalEvent()},
		{name: "escapes and unicode", ev: &codec.Event{
			ID: "\"\\/\b\f\n\r\t\x00\x1f\x7f %25", Source: "é€😀\u2028", Type: " leading and trailing ",
			Subject: "%%%", DataSchema: "urn:x:%20", DataContentType: "text/plain; charset=\"utf-8\"",
			Extensions: []codec.Extension{{Name: "x", Value: "\"quoted\"\n"}, {Name: "e", Value: ""}}, Data: []byte("\x00\xff"),
		}},
		{name: "time zone", ev: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -(9*3600+30*60)))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := nats.NewMsg("s")
			require.NoError(t, codec.EncodeMsg(msg, tt.ev, codec.Binary))
			for k, vs := range msg.Header {
				for _, v := range vs {
					for i := 0; i < len(v); i++ {
						// Content-Type is verbatim, and may hold spaces.
						ok := v[i] > ' ' && v[i] < 0x7f || k == "Content-Type" && v[i] == ' '
						require.True(t, ok, "header %s: byte %q needs encoding in %q", k, v[i], v)
					}
				}
			}
			var got codec.Event
			require.NoError(t, codec.DecodeMsg(msg, &got))
			assertEvent(t, tt.ev, &got, true)
		})
	}
}

func TestBinaryAllocs(t *testing.T) {
	ev := benchEvent()
	h := nats.Header{}
	allocs := testing.AllocsPerRun(200, func() {
		if err := codec.SetBinaryHeaders(h, ev); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0, "SetBinaryHeaders into a reused header")

	var out codec.Event
	allocs = testing.AllocsPerRun(200, func() {
		if err := codec.Decode(h, ev.Data, &out); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "binary decode into a reused Event")
}
