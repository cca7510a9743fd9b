package codec_test

import (
	"maps"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/conformance"
)

// classErrors maps the conformance error classes to the codec's sentinels.
var classErrors = map[conformance.ErrorClass]error{
	conformance.Malformed:        codec.ErrMalformed,
	conformance.MissingAttribute: codec.ErrMissingAttribute,
	conformance.SpecVersion:      codec.ErrSpecVersion,
	conformance.InvalidUTF8:      codec.ErrInvalidUTF8,
	conformance.InvalidAttribute: codec.ErrInvalidAttribute,
}

// TestConformance runs every envelope vector of the conformance directory:
// a valid message decodes to its event, an invalid one fails with its
// class, a canonical one is what the encoder writes, and every valid event
// survives encoding and decoding in both modes.
func TestConformance(t *testing.T) {
	vectors, err := conformance.Envelopes()
	require.NoError(t, err)
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			body, err := v.Message()
			require.NoError(t, err)
			var got codec.Event
			err = codec.Decode(nats.Header(v.Headers), body, &got)
			if v.Error != "" {
				require.Error(t, err, "decoded as %+v", got)
				assert.ErrorIs(t, err, classErrors[v.Error])
				return
			}
			require.NoError(t, err)
			checkEvent(t, v.Event, &got)

			want := vectorEvent(t, v.Event)
			if v.Canonical {
				checkCanonical(t, &v, want, body)
			}
			roundTrip(t, v.Event, want)
		})
	}
}

// vectorEvent builds the codec.Event a vector's event states: data given as
// data_base64 is binary (DataBase64 under an empty or JSON content type).
func vectorEvent(t *testing.T, ve *conformance.Event) *codec.Event {
	t.Helper()
	when, err := ve.ParsedTime()
	require.NoError(t, err)
	data, err := ve.DataBytes()
	require.NoError(t, err)
	ev := &codec.Event{
		ID: ve.ID, Source: ve.Source, Type: ve.Type, Time: when,
		DataContentType: ve.DataContentType, DataSchema: ve.DataSchema, Subject: ve.Subject,
		Data: data,
	}
	ev.DataBase64 = ve.DataBase64 != nil && (ev.DataContentType == "" || codec.IsJSONContentType(ev.DataContentType))
	for _, x := range ve.Extensions {
		ev.Extensions = append(ev.Extensions, codec.Extension{Name: x.Name, Value: x.Value})
	}
	return ev
}

// checkEvent checks got against the vector's event as the conformance
// README says: times as instants, extensions as a set, JSON data as JSON.
func checkEvent(t *testing.T, want *conformance.Event, got *codec.Event) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, "id")
	assert.Equal(t, want.Source, got.Source, "source")
	assert.Equal(t, want.Type, got.Type, "type")
	assert.Equal(t, want.DataContentType, got.DataContentType, "datacontenttype")
	assert.Equal(t, want.DataSchema, got.DataSchema, "dataschema")
	assert.Equal(t, want.Subject, got.Subject, "subject")
	when, err := want.ParsedTime()
	require.NoError(t, err)
	assert.True(t, when.Equal(got.Time), "time %v, want %v", got.Time, when)

	wantExt := map[string]string{}
	for _, x := range want.Extensions {
		wantExt[x.Name] = x.Value
	}
	gotExt := map[string]string{}
	for _, x := range got.Extensions {
		gotExt[x.Name] = x.Value
	}
	assert.Equal(t, wantExt, gotExt, "extensions")

	switch {
	case want.Data != nil:
		require.NotNil(t, got.Data, "data")
		assert.JSONEq(t, string(want.Data), string(got.Data), "data")
	case want.DataBase64 != nil:
		data, err := want.DataBytes()
		require.NoError(t, err)
		require.NotNil(t, got.Data, "data")
		assert.Equal(t, data, got.Data, "data")
	default:
		assert.Nil(t, got.Data, "data")
	}
}

// checkCanonical checks that the encoder writes the vector's message for
// its event: the body in structured mode, also the headers in binary mode.
func checkCanonical(t *testing.T, v *conformance.Envelope, ev *codec.Event, body []byte) {
	t.Helper()
	binary := false
	for k := range v.Headers {
		binary = binary || k == "ce-specversion"
	}
	if !binary {
		got, err := codec.AppendStructured(nil, ev)
		require.NoError(t, err)
		assert.Equal(t, string(body), string(got), "structured encoding")
		return
	}
	msg := nats.NewMsg(v.Subject)
	require.NoError(t, codec.EncodeMsg(msg, ev, codec.Binary))
	assert.True(t, maps.EqualFunc(map[string][]string(msg.Header), v.Headers, func(a, b []string) bool {
		return len(a) == 1 && len(b) == 1 && a[0] == b[0]
	}), "binary headers %v, want %v", msg.Header, v.Headers)
	assert.Equal(t, string(body), string(msg.Data), "binary body")
}

// roundTrip encodes ev in both modes, decodes it back and checks it against
// the vector. Every valid vector's event can be written in both modes (data
// that is not JSON under no content type, as binary/body-without-content-type,
// is binary data). Binary mode cannot tell empty data from none (both are an
// empty body): empty data comes back absent.
func roundTrip(t *testing.T, want *conformance.Event, ev *codec.Event) {
	t.Helper()
	for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
		if mode == codec.Binary && ev.Data != nil && len(ev.Data) == 0 {
			w := *want
			w.DataBase64 = nil
			want = &w
		}
		msg := nats.NewMsg("conformance")
		require.NoError(t, codec.EncodeMsg(msg, ev, mode), "encode in %s mode", mode)
		var back codec.Event
		require.NoError(t, codec.DecodeMsg(msg, &back), "decode in %s mode: %v %s", mode, msg.Header, msg.Data)
		checkEvent(t, want, &back)
	}
}
