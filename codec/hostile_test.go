package codec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

// binaryHeader is a valid binary-mode header plus the "name", "value" pairs
// of kv, each added as one more value of its name.
func binaryHeader(kv ...string) nats.Header {
	h := nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"s"}, "ce-type": {"t"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// TestErrorsAreBounded: whatever the size of the names and values of a
// hostile message, the error (its text and its Attribute) stays small.
func TestErrorsAreBounded(t *testing.T) {
	huge := strings.Repeat("x", 30<<10)
	tests := []struct {
		name    string
		header  nats.Header
		body    string
		wantErr error
	}{
		{"ce- header of 30 KiB given twice", binaryHeader("ce-"+huge, "a", "ce-"+huge, "b"), `"x"`, codec.ErrInvalidAttribute},
		{"ce- header of 30 KiB in two cases", binaryHeader("ce-"+huge, "a", "CE-"+huge, "b"), `"x"`, codec.ErrInvalidAttribute},
		{"ce- header of 30 KiB of UTF-8", binaryHeader("ce-"+strings.Repeat("é", 15<<10), "a"), `"x"`, codec.ErrInvalidAttribute},
		{"ce-id given twice", binaryHeader("ce-id", "2"), "", codec.ErrInvalidAttribute},
		{"bad percent-encoding in 30 KiB", binaryHeader("ce-subject", huge+"%zz"), "", codec.ErrInvalidAttribute},
		{"unterminated quote in 30 KiB", binaryHeader("ce-subject", `"`+huge), "", codec.ErrInvalidAttribute},
		{"Content-Type of 30 KiB, not UTF-8", binaryHeader("Content-Type", huge+"\xff"), "", codec.ErrInvalidUTF8},
		{"extension name of 30 KiB", nil, minimalBody + `,"` + huge + `":"v"}`, codec.ErrInvalidAttribute},
		{"specversion of 30 KiB", nil, `{"specversion":"` + huge + `","id":"1","source":"s","type":"t"}`, codec.ErrSpecVersion},
		{"time of 30 KiB", nil, minimalBody + `,"time":"` + huge + `"}`, codec.ErrInvalidAttribute},
		{"data_base64 of 30 KiB, not base64", nil, minimalBody + `,"data_base64":"` + huge + `!"}`, codec.ErrInvalidAttribute},
		{"id of 30 KiB, not UTF-8", nil, `{"specversion":"1.0","id":"` + huge + "\xff" + `","source":"s","type":"t"}`, codec.ErrInvalidUTF8},
		{"number of 30 KiB as extension, truncated", nil, minimalBody + `,"n":` + strings.Repeat("9", 30<<10), codec.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			err := codec.Decode(tt.header, []byte(tt.body), &ev)
			require.ErrorIs(t, err, tt.wantErr)
			checkError(t, err)
		})
	}
}

// TestAcceptedEventsEncodeAgain: events with data that is not JSON although
// the content type is empty or JSON decode as binary data, which encodes
// again in both modes with the same bytes; data_base64 is never taken for
// JSON, even when its bytes are JSON.
func TestAcceptedEventsEncodeAgain(t *testing.T) {
	tests := []struct {
		name     string
		header   nats.Header
		body     string
		wantData []byte
		wantJSON bool // DataIsJSON
	}{
		{name: "data_base64, no content type", body: minimalBody + `,"data_base64":"AAEC"}`, wantData: []byte{0, 1, 2}},
		{name: "data_base64 of 70 KiB, no content type", body: minimalBody + `,"data_base64":"` + strings.Repeat("QUFB", 70<<10/4) + `"}`,
			wantData: bytes.Repeat([]byte("A"), 70<<10/4*3)},
		{name: "data_base64 with an escaped line break", body: minimalBody + `,"data_base64":"QU\nFB"}`, wantData: []byte("AAA")},
		{name: "empty data_base64, no content type", body: minimalBody + `,"data_base64":""}`, wantData: []byte{}},
		{name: "data_base64 holding JSON, no content type", body: minimalBody + `,"data_base64":"IDEg"}`, wantData: []byte(" 1 ")},
		{name: "data_base64 under a JSON type", body: minimalBody + `,"datacontenttype":"application/json","data_base64":"AP8="}`, wantData: []byte{0, 0xff}},
		{name: "data_base64 under a +json type", body: minimalBody + `,"datacontenttype":"application/x+json","data_base64":"e30="}`, wantData: []byte("{}")},
		{name: "JSON data", body: minimalBody + `,"data":{"a":1}}`, wantData: []byte(`{"a":1}`), wantJSON: true},
		{name: "binary body, no content type", header: binaryHeader(), body: "hello", wantData: []byte("hello")},
		{name: "binary body under a JSON type", header: binaryHeader("Content-Type", "application/json"), body: "{", wantData: []byte("{")},
		{name: "binary JSON body with spaces", header: binaryHeader(), body: " [1] ", wantData: []byte(" [1] "), wantJSON: true},
		{name: "binary body of spaces", header: binaryHeader(), body: "  ", wantData: []byte("  ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev codec.Event
			require.NoError(t, codec.Decode(tt.header, []byte(tt.body), &ev))
			assert.Equal(t, tt.wantData, ev.Data)
			assert.Equal(t, tt.wantJSON, ev.DataIsJSON(), "DataIsJSON")
			checkAccepted(t, &ev)

			b, err := codec.AppendStructured(nil, &ev)
			require.NoError(t, err)
			var back codec.Event
			require.NoError(t, codec.Decode(nil, b, &back))
			if !tt.wantJSON {
				assert.Contains(t, string(b), `"data_base64":`)
				assert.Equal(t, tt.wantData, back.Data, "data bytes after a structured round trip")
			}
		})
	}
}

// TestDataBase64Written: DataBase64 under an empty or JSON content type is
// written as data_base64 and read back so; under another type it changes
// nothing.
func TestDataBase64Written(t *testing.T) {
	for _, ct := range []string{"", "application/json", "text/plain"} {
		ev := &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: ct, Data: []byte("[1]"), DataBase64: true}
		require.NoError(t, ev.Validate())
		b, err := codec.AppendStructured(nil, ev)
		require.NoError(t, err)
		assert.True(t, bytes.HasSuffix(b, []byte(`"data_base64":"WzFd"}`)), "%s", b)
		var back codec.Event
		require.NoError(t, codec.Decode(nil, b, &back))
		assert.False(t, back.DataIsJSON())
		assert.Equal(t, ct == "" || ct == "application/json", back.DataBase64, "DataBase64 is set only where it means something")
	}
	ev := &codec.Event{ID: "1", Source: "s", Type: "t", Data: []byte{0xff}}
	_, err := codec.AppendStructured(nil, ev)
	require.True(t, errors.Is(err, codec.ErrInvalidData), "bytes that are not JSON need DataBase64: %v", err)
}
