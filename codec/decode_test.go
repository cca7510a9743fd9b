package codec_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

const minimalBody = `{"specversion":"1.0","id":"1","source":"s","type":"t"`

func TestDecodeStructured(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		body   string
		want   *codec.Event
	}{
		{name: "golden", body: goldenStructured, want: fullEvent()},
		{
			name:   "golden with Content-Type",
			header: nats.Header{"Content-Type": {codec.ContentTypeStructured}},
			body:   goldenStructured, want: fullEvent(),
		},
		{
			name:   "other headers only",
			header: nats.Header{"Nats-Msg-Id": {"x"}, "ce-id": {"not binary without ce-specversion"}},
			body:   goldenStructured, want: fullEvent(),
		},
		{
			name: "any order, whitespace everywhere",
			body: " \r\n\t{ \"data\" :\n{\"postId\":42,\"text\":\"hello\"} , \"subject\":\"post/42\",\"target\" : \"broadcast\"," +
				`"type":"post:created","source":"exprsn-timeline","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",` +
				`"datacontenttype":"application/json","dataschema":"https://schemas.exprsn.io/post/created/v1.json",` +
				`"time":"2025-03-14T15:09:26.535897932+01:00","id":"b7f0c2d4-1e2f-4a5b-8c9d-0e1f2a3b4c5d","specversion":"1.0"}` + "\n ",
			want: func() *codec.Event {
				ev := fullEvent()
				ev.Extensions[0], ev.Extensions[1] = ev.Extensions[1], ev.Extensions[0]
				return ev
			}(),
		},
		{
			name: "escapes and unicode in attributes",
			body: `{"specversion":"1.0","id":"q\"b\\s\/","source":"nl\ncr\rtab\t\b\f","type":"\u00e9\u20ac\ud83d\ude00",` +
				`"subject":"é€😀","\u0074arget":"x"}`,
			want: &codec.Event{ID: `q"b\s/`, Source: "nl\ncr\rtab\t\b\f", Type: "é€😀", Subject: "é€😀",
				Extensions: []codec.Extension{{Name: "target", Value: "x"}}},
		},
		{
			name: "nulls are absent",
			body: minimalBody + `,"time":null,"subject":null,"dataschema":null,"datacontenttype":null,"x":null,"data":null}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t"},
		},
		{
			name: "empty optional strings are absent",
			body: minimalBody + `,"subject":"","dataschema":"","datacontenttype":""}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t"},
		},
		{
			name: "extension values of each JSON type",
			body: minimalBody + `,"s":"str","i":42,"n":-1.5e-3,"z":0,"b":true,"f":false,"e":""}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Extensions: []codec.Extension{
				{Name: "s", Value: "str"}, {Name: "i", Value: "42"}, {Name: "n", Value: "-1.5e-3"}, {Name: "z", Value: "0"},
				{Name: "b", Value: "true"}, {Name: "f", Value: "false"}, {Name: "e", Value: ""},
			}},
		},
		{
			name: "JSON data of each kind, no content type",
			body: minimalBody + `,"data":[ {"a":[1,2,{"b":null}]} , "x\"y" , -0.5E+2, true ]}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte(`[ {"a":[1,2,{"b":null}]} , "x\"y" , -0.5E+2, true ]`)},
		},
		{
			name: "JSON string data stays JSON",
			body: minimalBody + `,"datacontenttype":"application/json","data":"hi"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte(`"hi"`)},
		},
		{
			name: "text data as a JSON string, before its content type (as sdk-go writes)",
			body: minimalBody + `,"data":"hello, world","datacontenttype":"text/plain"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("hello, world")},
		},
		{
			name: "text data with escapes",
			body: minimalBody + `,"datacontenttype":"text/plain; charset=utf-8","data":"a\"b\n\u00e9"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain; charset=utf-8", Data: []byte("a\"b\né")},
		},
		{
			name: "non-string data with a non-JSON type is kept as its text",
			body: minimalBody + `,"datacontenttype":"text/plain","data":{"a":1}}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte(`{"a":1}`)},
		},
		{
			name: "data_base64",
			body: minimalBody + `,"datacontenttype":"application/octet-stream","data_base64":"AP9h"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 0xff, 'a'}},
		},
		{
			name: "data_base64 with no content type is binary",
			body: minimalBody + `,"data_base64":"eyJhIjoxfQ=="}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte(`{"a":1}`), DataBase64: true},
		},
		{
			name: "data_base64 with a JSON type is binary",
			body: minimalBody + `,"datacontenttype":"application/json","data_base64":"AAEC"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/json", Data: []byte{0, 1, 2}, DataBase64: true},
		},
		{
			name: "empty data_base64",
			body: minimalBody + `,"datacontenttype":"text/plain","data_base64":""}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte{}},
		},
		{
			name: "escaped data_base64",
			body: minimalBody + `,"data_base64":"AP9\u0068"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte{0, 0xff, 'a'}, DataBase64: true},
		},
		{
			name: "null data_base64",
			body: minimalBody + `,"data_base64":null}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t"},
		},
		{
			name: "UTC time",
			body: minimalBody + `,"time":"2024-02-29T23:59:59Z"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		},
		{
			name: "lowercase t and z in time",
			body: minimalBody + `,"time":"2024-02-29t23:59:59.5z"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(2024, 2, 29, 23, 59, 59, 5e8, time.UTC)},
		},
		{
			name: "64-char extension name",
			body: minimalBody + `,"` + strings.Repeat("x", 64) + `":"v"}`,
			want: &codec.Event{ID: "1", Source: "s", Type: "t", Extensions: []codec.Extension{{Name: strings.Repeat("x", 64), Value: "v"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			require.NoError(t, codec.Decode(tt.header, []byte(tt.body), &ev))
			assertEvent(t, tt.want, &ev, false)
		})
	}
}

func TestDecodeStructuredErrors(t *testing.T) {
	manyExt := minimalBody
	for i := range codec.MaxExtensions + 1 {
		manyExt += `,"x` + strings.Repeat("a", i%10) + string(rune('a'+i/10)) + `":"v"`
	}
	manyExt += "}"
	tests := []struct {
		name     string
		body     string
		wantErr  error
		wantAttr string
	}{
		{name: "empty body", body: "", wantErr: codec.ErrMalformed},
		{name: "whitespace body", body: " \n\t", wantErr: codec.ErrMalformed},
		{name: "garbage", body: "hello", wantErr: codec.ErrMalformed},
		{name: "binary garbage", body: "\x00\xff\xfe", wantErr: codec.ErrMalformed},
		{name: "array", body: "[]", wantErr: codec.ErrMalformed},
		{name: "null", body: "null", wantErr: codec.ErrMalformed},
		{name: "string", body: `"{}"`, wantErr: codec.ErrMalformed},
		{name: "truncated", body: minimalBody, wantErr: codec.ErrMalformed},
		{name: "truncated in data", body: minimalBody + `,"data":{"a":[1,2`, wantErr: codec.ErrMalformed, wantAttr: "data"},
		{name: "trailing garbage", body: minimalBody + "}x", wantErr: codec.ErrMalformed},
		{name: "two objects", body: minimalBody + "}{}", wantErr: codec.ErrMalformed},
		{name: "trailing comma", body: minimalBody + ",}", wantErr: codec.ErrMalformed},
		{name: "missing colon", body: `{"specversion" "1.0"}`, wantErr: codec.ErrMalformed},
		{name: "missing comma", body: `{"specversion":"1.0" "id":"1"}`, wantErr: codec.ErrMalformed},
		{name: "unquoted key", body: `{specversion:"1.0"}`, wantErr: codec.ErrMalformed},
		{name: "single quotes", body: `{'specversion':'1.0'}`, wantErr: codec.ErrMalformed},
		{name: "control character in string", body: minimalBody + ",\"subject\":\"a\nb\"}", wantErr: codec.ErrMalformed, wantAttr: "subject"},
		{name: "invalid escape", body: minimalBody + `,"subject":"a\qb"}`, wantErr: codec.ErrMalformed, wantAttr: "subject"},
		{name: "invalid unicode escape", body: minimalBody + `,"subject":"\u12G4"}`, wantErr: codec.ErrMalformed},
		{name: "invalid JSON in data", body: minimalBody + `,"data":{"a":01}}`, wantErr: codec.ErrMalformed, wantAttr: "data"},
		{name: "data nested too deep", body: minimalBody + `,"data":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "}", wantErr: codec.ErrMalformed},
		{name: "duplicate id", body: minimalBody + `,"id":"2"}`, wantErr: codec.ErrMalformed, wantAttr: "id"},
		{name: "duplicate specversion", body: minimalBody + `,"specversion":"1.0"}`, wantErr: codec.ErrMalformed, wantAttr: "specversion"},
		{name: "duplicate specversion, second null", body: minimalBody + `,"specversion":null}`, wantErr: codec.ErrMalformed, wantAttr: "specversion"},
		{name: "duplicate data", body: minimalBody + `,"data":1,"data":2}`, wantErr: codec.ErrMalformed, wantAttr: "data"},
		{name: "duplicate extension", body: minimalBody + `,"x":"1","x":2}`, wantErr: codec.ErrMalformed, wantAttr: "x"},
		{name: "duplicate key spelled with an escape", body: minimalBody + `,"\u0069d":"2"}`, wantErr: codec.ErrMalformed, wantAttr: "id"},
		{name: "no specversion", body: `{"id":"1","source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "specversion"},
		{name: "null specversion", body: `{"specversion":null,"id":"1","source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "specversion"},
		{name: "empty specversion", body: `{"specversion":"","id":"1","source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "specversion"},
		{name: "no id", body: `{"specversion":"1.0","source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "id"},
		{name: "empty id", body: `{"specversion":"1.0","id":"","source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "id"},
		{name: "null id", body: `{"specversion":"1.0","id":null,"source":"s","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "id"},
		{name: "no source", body: `{"specversion":"1.0","id":"1","type":"t"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "source"},
		{name: "no type", body: `{"specversion":"1.0","id":"1","source":"s"}`, wantErr: codec.ErrMissingAttribute, wantAttr: "type"},
		{name: "empty object", body: `{}`, wantErr: codec.ErrMissingAttribute, wantAttr: "specversion"},
		{name: "specversion 0.3", body: `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, wantErr: codec.ErrSpecVersion, wantAttr: "specversion"},
		{name: "specversion 1.0 as a number", body: `{"specversion":1.0,"id":"1","source":"s","type":"t"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "specversion"},
		{name: "id as a number", body: `{"specversion":"1.0","id":1,"source":"s","type":"t"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "id"},
		{name: "subject as an object", body: minimalBody + `,"subject":{}}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "subject"},
		{name: "invalid UTF-8 in id", body: `{"specversion":"1.0","id":"a` + "\xff" + `","source":"s","type":"t"}`, wantErr: codec.ErrInvalidUTF8, wantAttr: "id"},
		{name: "UTF-8 surrogate in id", body: `{"specversion":"1.0","id":"` + "\xed\xa0\x80" + `","source":"s","type":"t"}`, wantErr: codec.ErrInvalidUTF8, wantAttr: "id"},
		{name: "lone surrogate escape in source", body: `{"specversion":"1.0","id":"1","source":"\ud800","type":"t"}`, wantErr: codec.ErrInvalidUTF8, wantAttr: "source"},
		{name: "invalid UTF-8 in key", body: `{"` + "\xc3" + `":"1"}`, wantErr: codec.ErrInvalidUTF8},
		{name: "invalid UTF-8 in data", body: minimalBody + `,"data":["` + "\xc3\x28" + `"]}`, wantErr: codec.ErrInvalidUTF8, wantAttr: "data"},
		{name: "lone surrogate in text data", body: minimalBody + `,"datacontenttype":"text/plain","data":"\udc00"}`, wantErr: codec.ErrInvalidUTF8, wantAttr: "data"},
		{name: "bad time", body: minimalBody + `,"time":"yesterday"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "empty time", body: minimalBody + `,"time":""}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "time without zone", body: minimalBody + `,"time":"2024-01-01T00:00:00"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "time hour 24", body: minimalBody + `,"time":"2024-01-01T24:00:00Z"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "time offset +24:00", body: minimalBody + `,"time":"2024-01-01T00:00:00+24:00"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "time offset minute 60", body: minimalBody + `,"time":"2024-01-01T00:00:00-23:60"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "data and data_base64", body: minimalBody + `,"data":{},"data_base64":"AA=="}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "data_base64"},
		{name: "data and null data_base64", body: minimalBody + `,"data":{},"data_base64":null}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "data_base64"},
		{name: "duplicate null subject", body: minimalBody + `,"subject":null,"subject":"x"}`, wantErr: codec.ErrMalformed, wantAttr: "subject"},
		{name: "bad base64", body: minimalBody + `,"data_base64":"!!!"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "data_base64"},
		{name: "base64 without padding", body: minimalBody + `,"data_base64":"AP9"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "data_base64"},
		{name: "data_base64 as a number", body: minimalBody + `,"data_base64":1}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "data_base64"},
		{name: "uppercase extension name", body: minimalBody + `,"traceParent":"x"}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "traceParent"},
		{name: "extension name with underscore", body: minimalBody + `,"trace_parent":"x"}`, wantErr: codec.ErrInvalidAttribute},
		{name: "empty key", body: minimalBody + `,"":"x"}`, wantErr: codec.ErrInvalidAttribute},
		{name: "65-char extension name", body: minimalBody + `,"` + strings.Repeat("x", 65) + `":"v"}`, wantErr: codec.ErrInvalidAttribute},
		{name: "object extension", body: minimalBody + `,"x":{"a":1}}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "x"},
		{name: "array extension", body: minimalBody + `,"x":[1]}`, wantErr: codec.ErrInvalidAttribute, wantAttr: "x"},
		{name: "invalid number extension", body: minimalBody + `,"x":1.}`, wantErr: codec.ErrMalformed},
		{name: "too many extensions", body: manyExt, wantErr: codec.ErrInvalidAttribute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			err := codec.Decode(nil, []byte(tt.body), &ev)
			require.ErrorIs(t, err, tt.wantErr)
			var ce *codec.Error
			require.ErrorAs(t, err, &ce)
			assert.NotEmpty(t, ce.Reason)
			if tt.wantAttr != "" {
				assert.Equal(t, tt.wantAttr, ce.Attribute)
			}
		})
	}
}

func TestDecodeEveryTruncation(t *testing.T) {
	var ev codec.Event
	for n := range len(goldenStructured) {
		err := codec.Decode(nil, []byte(goldenStructured[:n]), &ev)
		require.ErrorIs(t, err, codec.ErrMalformed, "prefix %q", goldenStructured[:n])
	}
}

func TestDecodeDataAliasesBody(t *testing.T) {
	body := []byte(goldenStructured)
	var ev codec.Event
	require.NoError(t, codec.Decode(nil, body, &ev))
	i := strings.Index(goldenStructured, `{"postId"`)
	require.Positive(t, i)
	assert.Same(t, &body[i], &ev.Data[0], "JSON data is a sub-slice of the body")
	assert.Equal(t, len(ev.Data), cap(ev.Data), "capacity is clipped, so appending cannot overwrite the body")

	// Attribute strings do not alias the body: changing it leaves them.
	copy(body, strings.Repeat("#", len(body)))
	assert.Equal(t, "exprsn-timeline", ev.Source)
}

func TestDecodeReusesEvent(t *testing.T) {
	ev := fullEvent()
	ev.Extensions = make([]codec.Extension, 3, 8)
	ev.Extensions[2] = codec.Extension{Name: "old", Value: "old"}
	exts := ev.Extensions
	require.NoError(t, codec.Decode(nil, []byte(minimalBody+`,"a":"1"}`), ev))
	assertEvent(t, &codec.Event{ID: "1", Source: "s", Type: "t", Extensions: []codec.Extension{{Name: "a", Value: "1"}}}, ev, false)
	assert.Same(t, &exts[0], &ev.Extensions[0], "backing array reused")
	assert.Equal(t, codec.Extension{}, exts[2], "old entries are cleared")
}

func TestDecodeAllocs(t *testing.T) {
	ev := benchEvent()
	ev.Extensions = nil
	noExt, err := codec.AppendStructured(nil, ev)
	require.NoError(t, err)
	withExt, err := codec.AppendStructured(nil, benchEvent())
	require.NoError(t, err)
	t.Logf("body sizes: %d B without extension, %d B with", len(noExt), len(withExt))

	var reused codec.Event
	allocs := testing.AllocsPerRun(200, func() {
		if err := codec.Decode(nil, noExt, &reused); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "no extensions, reused Event")

	allocs = testing.AllocsPerRun(200, func() {
		if err := codec.Decode(nil, withExt, &reused); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "with extension, reused Event")

	allocs = testing.AllocsPerRun(200, func() {
		var fresh codec.Event
		if err := codec.Decode(nil, withExt, &fresh); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0, "with extension, fresh Event")
}

func TestDecodeMsgNil(t *testing.T) {
	var ev codec.Event
	require.ErrorIs(t, codec.DecodeMsg(nil, &ev), codec.ErrMalformed)
}

func TestStructuredRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   *codec.Event
	}{
		{name: "full", ev: fullEvent()},
		{name: "minimal", ev: minimalEvent()},
		{name: "escapes and unicode", ev: &codec.Event{
			ID: "\"\\/\b\f\n\r\t\x00\x1f\x7f", Source: "é€😀\u2028\u2029\ufeff", Type: "<script>&amp;",
			Subject: strings.Repeat("ü", 100), DataSchema: "urn:x:%20", DataContentType: "application/json; charset=\"utf-8\"",
			Extensions: []codec.Extension{{Name: "x", Value: "\"quoted\"\n"}}, Data: []byte(`{"k":"\u00e9\ud83d\ude00"}`),
		}},
		{name: "base64 data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G', 0, 0xff}}},
		{name: "empty base64 data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "image/png", Data: []byte{}}},
		{name: "text data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("plain \"text\"\n")}},
		{name: "nil data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain"}},
		{name: "local time zone", ev: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(2030, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -(9*3600+30*60)))}},
		{name: "year 0", ev: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "year 9999 east of UTC", ev: &codec.Event{ID: "1", Source: "s", Type: "t", Time: time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -3600))}},
		{name: "many extensions", ev: func() *codec.Event {
			ev := minimalEvent()
			for i := range codec.MaxExtensions {
				ev.SetExtension("e"+strconv.Itoa(i), strings.Repeat("v", i))
			}
			return ev
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := nats.NewMsg("s")
			require.NoError(t, codec.EncodeMsg(msg, tt.ev, codec.Structured))
			var got codec.Event
			require.NoError(t, codec.DecodeMsg(msg, &got))
			assertEvent(t, tt.ev, &got, false)
		})
	}
}

// TestDecodeOwnedIsDecodeWithoutTheCopy: the same event, and no allocation
// into a reused Event.
func TestDecodeOwnedIsDecodeWithoutTheCopy(t *testing.T) {
	body := []byte(goldenStructured)
	var want, got codec.Event
	require.NoError(t, codec.Decode(nil, body, &want))
	require.NoError(t, codec.DecodeOwned(nil, body, &got))
	require.Equal(t, want, got)
	allocs := testing.AllocsPerRun(200, func() {
		if err := codec.DecodeOwned(nil, body, &got); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "DecodeOwned into a reused Event allocates nothing")
	for _, tt := range []string{`{"specversion":"0.3","id":"1","source":"s","type":"t"}`, `{`, ``} {
		require.Error(t, codec.DecodeOwned(nil, []byte(tt), &got), tt)
	}
}
