package codec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

func TestExtensionAccessors(t *testing.T) {
	var ev codec.Event
	_, ok := ev.Extension("traceparent")
	assert.False(t, ok)

	ev.SetExtension("a", "1")
	ev.SetExtension("b", "2")
	ev.SetExtension("a", "3") // replaces in place
	assert.Equal(t, []codec.Extension{{Name: "a", Value: "3"}, {Name: "b", Value: "2"}}, ev.Extensions)
	v, ok := ev.Extension("a")
	assert.True(t, ok)
	assert.Equal(t, "3", v)

	ev.DeleteExtension("a")
	ev.DeleteExtension("nope")
	assert.Equal(t, []codec.Extension{{Name: "b", Value: "2"}}, ev.Extensions)
}

func TestValidate(t *testing.T) {
	tooMany := minimalEvent()
	for i := range codec.MaxExtensions + 1 {
		tooMany.SetExtension("x"+strings.Repeat("a", i%10)+string(rune('a'+i/10)), "v")
	}
	tests := []struct {
		name     string
		mutate   func(ev *codec.Event)
		wantErr  error
		wantAttr string
	}{
		{name: "full event", mutate: func(*codec.Event) {}},
		{name: "no id", mutate: func(ev *codec.Event) { ev.ID = "" }, wantErr: codec.ErrMissingAttribute, wantAttr: "id"},
		{name: "no source", mutate: func(ev *codec.Event) { ev.Source = "" }, wantErr: codec.ErrMissingAttribute, wantAttr: "source"},
		{name: "no type", mutate: func(ev *codec.Event) { ev.Type = "" }, wantErr: codec.ErrMissingAttribute, wantAttr: "type"},
		{name: "bad utf8 id", mutate: func(ev *codec.Event) { ev.ID = "a\xffb" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "id"},
		{name: "bad utf8 source", mutate: func(ev *codec.Event) { ev.Source = "\xc3" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "source"},
		{name: "bad utf8 type", mutate: func(ev *codec.Event) { ev.Type = "\xed\xa0\x80" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "type"},
		{name: "bad utf8 subject", mutate: func(ev *codec.Event) { ev.Subject = "\x80" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "subject"},
		{name: "bad utf8 dataschema", mutate: func(ev *codec.Event) { ev.DataSchema = "\x80" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "dataschema"},
		{name: "bad utf8 datacontenttype", mutate: func(ev *codec.Event) { ev.DataContentType = "\x80" }, wantErr: codec.ErrInvalidUTF8, wantAttr: "datacontenttype"},
		{name: "bad utf8 extension", mutate: func(ev *codec.Event) { ev.SetExtension("x", "\x80") }, wantErr: codec.ErrInvalidUTF8, wantAttr: "x"},
		{name: "uppercase extension", mutate: func(ev *codec.Event) { ev.SetExtension("traceParent", "x") }, wantErr: codec.ErrInvalidAttribute, wantAttr: "traceParent"},
		{name: "underscore extension", mutate: func(ev *codec.Event) { ev.SetExtension("trace_parent", "x") }, wantErr: codec.ErrInvalidAttribute},
		{name: "empty extension name", mutate: func(ev *codec.Event) { ev.SetExtension("", "x") }, wantErr: codec.ErrInvalidAttribute},
		{name: "64-char extension name", mutate: func(ev *codec.Event) { ev.SetExtension(strings.Repeat("a", 64), "x") }},
		{name: "65-char extension name", mutate: func(ev *codec.Event) { ev.SetExtension(strings.Repeat("a", 65), "x") }, wantErr: codec.ErrInvalidAttribute},
		{name: "reserved extension name", mutate: func(ev *codec.Event) { ev.SetExtension("data", "x") }, wantErr: codec.ErrInvalidAttribute, wantAttr: "data"},
		{name: "duplicate extension", mutate: func(ev *codec.Event) {
			ev.Extensions = append(ev.Extensions, ev.Extensions[0])
		}, wantErr: codec.ErrInvalidAttribute, wantAttr: "traceparent"},
		{name: "too many extensions", mutate: func(ev *codec.Event) { ev.Extensions = tooMany.Extensions }, wantErr: codec.ErrInvalidAttribute},
		{name: "year 10000", mutate: func(ev *codec.Event) { ev.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, wantErr: codec.ErrInvalidAttribute, wantAttr: "time"},
		{name: "data not JSON", mutate: func(ev *codec.Event) { ev.Data = []byte("hello") }, wantErr: codec.ErrInvalidData, wantAttr: "data"},
		{name: "empty data with JSON type", mutate: func(ev *codec.Event) { ev.Data = []byte{} }, wantErr: codec.ErrInvalidData},
		{name: "data not JSON, no content type", mutate: func(ev *codec.Event) {
			ev.DataContentType = ""
			ev.Data = []byte("{")
		}, wantErr: codec.ErrInvalidData},
		{name: "binary data with binary type", mutate: func(ev *codec.Event) {
			ev.DataContentType = "application/octet-stream"
			ev.Data = []byte{0, 1, 0xff}
		}},
		{name: "control characters are escaped, not errors", mutate: func(ev *codec.Event) { ev.Subject = "a\x00\n" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := fullEvent()
			tt.mutate(ev)
			err := ev.Validate()
			_, encErr := codec.AppendStructured(nil, ev)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NoError(t, encErr)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			require.ErrorIs(t, encErr, tt.wantErr, "AppendStructured must fail as Validate does")
			var ce *codec.Error
			require.ErrorAs(t, err, &ce)
			if tt.wantAttr != "" {
				assert.Equal(t, tt.wantAttr, ce.Attribute)
			}
		})
	}
}

func TestIsJSONContentType(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"Application/JSON", true},
		{"application/json; charset=utf-8", true},
		{"application/json;charset=UTF-8", true},
		{" application/json ", true},
		{"text/json", true},
		{"application/cloudevents+json", true},
		{"application/vnd.exprsn.post+JSON", true},
		{"application/ld+json; profile=x", true},
		{"", false},
		{"+json", false},
		{"application/jsonx", false},
		{"application/json-seq", false},
		{"text/plain", false},
		{"application/octet-stream", false},
		{"application/xml", false},
	}
	for _, tt := range tests {
		t.Run(tt.ct, func(t *testing.T) {
			assert.Equal(t, tt.want, codec.IsJSONContentType(tt.ct))
		})
	}
}

func TestModeString(t *testing.T) {
	assert.Equal(t, "structured", codec.Structured.String())
	assert.Equal(t, "binary", codec.Binary.String())
	assert.Equal(t, "Mode(7)", codec.Mode(7).String())
	var zero codec.Mode
	assert.Equal(t, codec.Structured, zero, "the zero Mode is Structured")
}

func TestValidExtensionName(t *testing.T) {
	for name, want := range map[string]bool{
		"traceparent": true, "a": true, "x1": true, "0": true,
		"": false, "Trace": false, "trace-parent": false, "é": false,
		"id": false, "specversion": false, "data": false, "subject": false, "data_base64": false,
		"datacontentencoding": true, "schemaurl": true, // 0.3 attributes are plain extensions in 1.0
	} {
		assert.Equal(t, want, codec.ValidExtensionName(name), name)
	}
}

func TestErrorMessage(t *testing.T) {
	var ev codec.Event
	err := codec.Decode(nil, []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`), &ev)
	require.ErrorIs(t, err, codec.ErrInvalidAttribute)
	assert.Equal(t, `codec: invalid CloudEvent: attribute "time": not RFC 3339: "yesterday"`, err.Error())

	err = codec.Decode(nil, []byte(`{"specversion":"0.3"}`), &ev)
	assert.Equal(t, `codec: invalid CloudEvent: attribute "specversion": got "0.3", want "1.0"`, err.Error())

	err = codec.Decode(nil, []byte(`{"specversion":"1.0",`), &ev)
	assert.Equal(t, `codec: invalid CloudEvent: unexpected end of input at offset 21`, err.Error())

	var ce *codec.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "", ce.Attribute)
	assert.True(t, errors.Is(ce, codec.ErrMalformed))
	assert.Equal(t, codec.ErrMalformed, ce.Unwrap())
}
