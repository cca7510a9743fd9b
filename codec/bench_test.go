package codec_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec"
)

// benchData is 256 bytes of JSON, the size the mesh's benchmarks use.
var benchData = func() []byte {
	s := `{"postId":"p-7f3a9c2e","author":{"id":"u-1024","name":"Ada Lovelace"},"tags":["go","nats","events"],"likes":42,"draft":false,"text":"`
	s += strings.Repeat("x", 256-len(s)-2) + `"}`
	if len(s) != 256 || !json.Valid([]byte(s)) {
		panic("bad bench data")
	}
	return []byte(s)
}()

// benchEvent has the attribute set the mesh sends: id, source, type, time,
// datacontenttype application/json, one extension, 256 B of JSON data.
func benchEvent() *codec.Event {
	return &codec.Event{
		ID:              "0f8e3c2a-6b1d-4e5f-9a7b-3c2d1e0f9a8b",
		Source:          "exprsn-timeline",
		Type:            "post:created",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		DataContentType: codec.ContentTypeJSON,
		Data:            benchData,
		Extensions:      []codec.Extension{{Name: "traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
	}
}

func BenchmarkEncodeStructured(b *testing.B) {
	ev := benchEvent()
	buf, err := codec.AppendStructured(nil, ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = codec.AppendStructured(buf[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMsgStructured(b *testing.B) {
	ev := benchEvent()
	msg := &nats.Msg{Subject: "ipc.all.post.created"}
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.EncodeMsg(msg, ev, codec.Structured); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(msg.Data)))
}

func BenchmarkDecodeStructured(b *testing.B) {
	benchmarkDecode(b, codec.Decode)
}

// BenchmarkDecodeStructuredOwned is the mesh's receive path: the strings
// share the message body.
func BenchmarkDecodeStructuredOwned(b *testing.B) {
	benchmarkDecode(b, codec.DecodeOwned)
}

func benchmarkDecode(b *testing.B, decode func(nats.Header, []byte, *codec.Event) error) {
	body, err := codec.AppendStructured(nil, benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	var ev codec.Event
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := decode(nil, body, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStructuredFresh(b *testing.B) {
	body, err := codec.AppendStructured(nil, benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var ev codec.Event
		if err := codec.Decode(nil, body, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBinary(b *testing.B) {
	ev := benchEvent()
	h := nats.Header{}
	b.SetBytes(int64(len(ev.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.SetBinaryHeaders(h, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	ev := benchEvent()
	msg := nats.NewMsg("ipc.all.post.created")
	if err := codec.EncodeMsg(msg, ev, codec.Binary); err != nil {
		b.Fatal(err)
	}
	var out codec.Event
	b.SetBytes(int64(len(msg.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.DecodeMsg(msg, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSDKEvent(b *testing.B) event.Event {
	e, err := codec.ToSDK(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkSDKMarshal(b *testing.B) {
	e := benchSDKEvent(b)
	body, err := json.Marshal(e)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSDKUnmarshal(b *testing.B) {
	body, err := json.Marshal(benchSDKEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var e event.Event
		if err := json.Unmarshal(body, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateData measures the JSON data validator, which both
// AppendStructured and the decoder (to skip "data") run on every event.
func BenchmarkValidateData(b *testing.B) {
	ev := &codec.Event{ID: "1", Source: "s", Type: "t", Data: benchData}
	b.SetBytes(int64(len(benchData)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
