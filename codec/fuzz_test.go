package codec_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/codec/internal/jsonscan"
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

// normalized returns ev as it reads back after encoding in mode: a time
// whose offset RFC 3339 cannot state in UTC (as it is written), JSON data
// stripped of surrounding whitespace (which encoding drops), JSON null data
// in structured mode as nil (it decodes as absent) and, for binary mode,
// empty data as nil (an empty body carries no data) and binary data that is
// valid JSON as JSON (binary mode cannot mark it binary).
func normalized(ev codec.Event, mode codec.Mode) *codec.Event {
	if _, off := ev.Time.Zone(); off%60 != 0 || off <= -86400 || off >= 86400 {
		ev.Time = ev.Time.UTC() // RFC 3339 cannot state the offset
	}
	if mode == codec.Binary && ev.DataBase64 && jsonscan.Valid(ev.Data) {
		ev.DataBase64 = false
	}
	if ev.Data != nil && ev.DataIsJSON() {
		ev.Data = bytes.Trim(ev.Data, " \t\r\n")
		if mode == codec.Structured && string(ev.Data) == "null" {
			ev.Data = nil // JSON null data reads back as absent
		}
	}
	if mode == codec.Binary && len(ev.Data) == 0 {
		ev.Data, ev.DataBase64 = nil, false
	}
	return &ev
}

// maxErrorLen bounds the text of any error about a message, however big the
// message: names and values in it are quoted and cut.
const maxErrorLen = 1 << 10

func checkError(t *testing.T, err error) {
	t.Helper()
	var ce *codec.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *codec.Error", err, err)
	}
	if n := len(err.Error()); n > maxErrorLen || len(ce.Attribute) > 67 {
		t.Fatalf("error of %d bytes (attribute of %d): %.300s", n, len(ce.Attribute), err.Error())
	}
	for _, s := range []error{codec.ErrMalformed, codec.ErrMissingAttribute, codec.ErrSpecVersion, codec.ErrInvalidUTF8, codec.ErrInvalidAttribute, codec.ErrInvalidData} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}

// checkAccepted holds an event that Decode accepted to its promises: it is
// valid, and in each mode it encodes, decodes back to the same event with
// the same data bytes (up to what normalized says), and encodes again to the
// same message.
func checkAccepted(t *testing.T, ev *codec.Event) {
	t.Helper()
	if err := ev.Validate(); err != nil {
		t.Fatalf("accepted an event that is not valid: %v\n%+v", err, ev)
	}
	for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
		msg := nats.NewMsg("fuzz")
		if err := codec.EncodeMsg(msg, ev, mode); err != nil {
			t.Fatalf("accepted %+v, but encoding it in %s mode fails: %v", ev, mode, err)
		}
		var again codec.Event
		if err := codec.DecodeMsg(msg, &again); err != nil {
			t.Fatalf("encoded %s message does not decode: %v\nheader %v\nbody %q", mode, err, msg.Header, msg.Data)
		}
		assertEvent(t, normalized(*ev, mode), normalized(again, mode), mode == codec.Binary)
		msg2 := nats.NewMsg("fuzz")
		if err := codec.EncodeMsg(msg2, &again, mode); err != nil {
			t.Fatalf("%s mode: decoded %+v, which does not encode again: %v", mode, again, err)
		}
		if !bytes.Equal(msg.Data, msg2.Data) || !reflect.DeepEqual(msg.Header, msg2.Header) {
			t.Fatalf("%s encoding not stable:\n%v %q\n%v %q", mode, msg.Header, msg.Data, msg2.Header, msg2.Data)
		}
	}
}

// FuzzDecode decodes arbitrary bodies and headers ("name:value" lines). It
// must never panic; every error is a *codec.Error of at most maxErrorLen
// bytes; and every event it accepts passes checkAccepted, in both modes
// whichever mode it came in.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(goldenStructured), "")
	f.Add([]byte(goldenStructured), "Content-Type:application/cloudevents+json")
	f.Add([]byte(minimalBody+`,"data":"x","datacontenttype":"text/plain","n":1.5e3,"b":true}`), "")
	f.Add([]byte(minimalBody+`,"data_base64":"AP8=","datacontenttype":"image/png"}`), "")
	f.Add([]byte(minimalBody+`,"data_base64":"AAEC"}`), "")
	f.Add([]byte(minimalBody+`,"data_base64":"IDEg"}`), "")
	f.Add([]byte(minimalBody+`,"data_base64":"QU\nFB","datacontenttype":"application/json"}`), "")
	f.Add([]byte(minimalBody+`,"data":" x ","datacontenttype":"text/plain"}`), "")
	f.Add([]byte(`{"a":[{"b":"\ud83d\ude00"}]}`), "")
	f.Add([]byte(`{"postId":42}`), "ce-specversion:1.0\nCE-ID:%41\nce-source:s\nce-type:t\nContent-Type:application/json\nce-x:\"q\\\"\"")
	f.Add([]byte{}, "Ce-Specversion:1.0\nce-id:1\nce-source:s\nce-type:t\nce-time:2025-01-01T00:00:00Z")
	f.Add([]byte("not json"), "ce-specversion:1.0\nce-id:1\nce-source:s\nce-type:t")
	f.Add([]byte(" 1 "), "ce-specversion:1.0\nce-id:1\nce-source:s\nce-type:t")
	f.Add([]byte("{"), "ce-specversion:1.0\nce-id:1\nce-source:s\nce-type:t\nContent-Type:application/json")
	long := "ce-" + strings.Repeat("x", 300)
	f.Add([]byte(`"x"`), "ce-specversion:1.0\nce-id:1\nce-source:s\nce-type:t\n"+long+":a\n"+long+":b")
	f.Fuzz(func(t *testing.T, body []byte, headers string) {
		var ev codec.Event
		if err := codec.Decode(parseHeaders(headers), body, &ev); err != nil {
			checkError(t, err)
			return
		}
		checkAccepted(t, &ev)
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
