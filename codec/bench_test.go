package codec_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec"
)

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
