package codec_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec"
)

// parseHeaders turns "name:value" lines into a header; "" gives nil.
func parseHeaders(s string) nats.Header {
	if s == "" {
		return nil
	}
	h := nats.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(line, ":")
		h.Add(k, v)
	}
	return h
}

func hasSpecVersionHeader(h nats.Header) bool {
	for k := range h {
		if strings.EqualFold(k, "ce-specversion") {
			return true
		}
	}
	return false
}

// normalized returns ev with a time whose offset RFC 3339 cannot state in
// UTC (as it is written), JSON data stripped of surrounding whitespace
// (which encoding drops), JSON null data in structured mode as nil (it decodes
// as absent) and, for binary mode, empty data as nil (an empty body carries
// no data).
func normalized(ev codec.Event, mode codec.Mode) *codec.Event {
	if _, off := ev.Time.Zone(); off%60 != 0 || off <= -86400 || off >= 86400 {
		ev.Time = ev.Time.UTC() // RFC 3339 cannot state the offset
	}
	if ev.Data != nil && (ev.DataContentType == "" || codec.IsJSONContentType(ev.DataContentType)) {
		ev.Data = bytes.Trim(ev.Data, " \t\r\n")
		if mode == codec.Structured && string(ev.Data) == "null" {
			ev.Data = nil // JSON null data reads back as absent
		}
	}
	if mode == codec.Binary && len(ev.Data) == 0 {
		ev.Data = nil
	}
	return &ev
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *codec.Error", err, err)
	}
	for _, s := range []error{codec.ErrMalformed, codec.ErrMissingAttribute, codec.ErrSpecVersion, codec.ErrInvalidUTF8, codec.ErrInvalidAttribute, codec.ErrInvalidData} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}

// FuzzDecode decodes arbitrary bodies and headers ("name:value" lines). It
// must never panic; every error is a *codec.Error; and what decodes must
// re-encode, in the same mode, to a message that decodes to the same event
// and re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(goldenStructured), "")
	f.Add([]byte(goldenStructured), "Content-Type:application/cloudevents+json")
	f.Add([]byte(minimalBody+`,"data":"x","datacontenttype":"text/plain","n":1.5e3,"b":true}`), "")
	f.Add([]byte(minimalBody+`,"data_base64":"AP8=","datacontenttype":"image/png"}`), "")
	f.Add([]byte(`{"a":[{"b":"\ud83d\ude00"}]}`), "")
	f.Add([]byte(`{"postId":42}`), "ce-specversion:1.0\nCE-ID:%41\nce-source:s\nce-type:t\nContent-Type:application/json\nce-x:\"q\\\"\"")
	f.Add([]byte{}, "Ce-Specversion:1.0\nce-id:1\nce-source:s\nce-type:t\nce-time:2025-01-01T00:00:00Z")
	f.Fuzz(func(t *testing.T, body []byte, headers string) {
		h := parseHeaders(headers)
		var ev codec.Event
		if err := codec.Decode(h, body, &ev); err != nil {
			checkError(t, err)
			return
		}
		mode := codec.Structured
		if hasSpecVersionHeader(h) {
			mode = codec.Binary
		}
		msg := nats.NewMsg("fuzz")
		if err := codec.EncodeMsg(msg, &ev, mode); err != nil {
			if mode == codec.Structured && errors.Is(err, codec.ErrInvalidData) && bytes.Contains(body, []byte("data_base64")) {
				// data_base64 holding non-JSON bytes with no (or a JSON)
				// content type decodes, but cannot be re-encoded: this
				// package picks data or data_base64 by content type.
				return
			}
			t.Fatalf("decoded %+v, but re-encoding in %s mode fails: %v", ev, mode, err)
		}
		var again codec.Event
		if err := codec.DecodeMsg(msg, &again); err != nil {
			t.Fatalf("re-encoded %s message does not decode: %v\nheader %v\nbody %q", mode, err, msg.Header, msg.Data)
		}
		assertEvent(t, normalized(ev, mode), normalized(again, mode), mode == codec.Binary)
		if mode == codec.Structured {
			enc2, err := codec.AppendStructured(nil, &again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(msg.Data, enc2) {
				t.Fatalf("encoding not stable:\n%s\n%s", msg.Data, enc2)
			}
		}
	})
}

// FuzzRoundTrip builds events from arbitrary attributes. AppendStructured
// must fail exactly when Validate does, with the same sentinel; a valid event
// must survive both modes unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add("1", "exprsn-timeline", "post:created", "", "application/json", "", "traceparent", "00-abc-01", []byte(`{"a":1}`), int64(1741964966), uint32(535897932), int32(3600))
	f.Add("id \"q\"", "é€😀", "t\n", "sub", "text/plain", "urn:x", "x", "", []byte("text"), int64(0), uint32(0), int32(0))
	f.Add("1", "s", "t", "", "image/png", "", "", "", []byte{0, 0xff}, int64(-62135596800), uint32(1), int32(-86340))
	f.Add("\xff", "s", "t", "", "", "", "Bad", "v", []byte("not json"), int64(253402300800), uint32(0), int32(0))
	f.Add("1", "s", "t", "", "", "", "", "", []byte(nil), int64(1), uint32(0), int32(-1172))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, ct, schema, extName, extValue string, data []byte, sec int64, nsec uint32, offSec int32) {
		ev := codec.Event{ID: id, Source: source, Type: typ, Subject: subject, DataContentType: ct, DataSchema: schema, Data: data}
		if sec != 0 || nsec != 0 {
			ev.Time = time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone("", int(offSec)))
		}
		if extName != "" {
			ev.SetExtension(extName, extValue)
		}
		verr := ev.Validate()
		enc, eerr := codec.AppendStructured(nil, &ev)
		if (verr == nil) != (eerr == nil) || verr != nil && verr.Error() != eerr.Error() {
			t.Fatalf("Validate: %v, AppendStructured: %v", verr, eerr)
		}
		if verr != nil {
			checkError(t, verr)
			return
		}
		var got codec.Event
		if err := codec.Decode(nil, enc, &got); err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		assertEvent(t, normalized(ev, codec.Structured), normalized(got, codec.Structured), false)

		msg := nats.NewMsg("fuzz")
		if err := codec.EncodeMsg(msg, &ev, codec.Binary); err != nil {
			t.Fatalf("binary encode: %v", err)
		}
		var bin codec.Event
		if err := codec.DecodeMsg(msg, &bin); err != nil {
			t.Fatalf("binary decode %v: %v", msg.Header, err)
		}
		assertEvent(t, normalized(ev, codec.Binary), normalized(bin, codec.Binary), true)
	})
}
