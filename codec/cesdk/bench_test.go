package cesdk_test

import (
	"encoding/json"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/exprsn/ipcmesh/codec/cesdk"
)

func benchSDKEvent(b *testing.B) event.Event {
	e, err := cesdk.ToSDK(benchEvent())
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
