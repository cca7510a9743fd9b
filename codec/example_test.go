package codec_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec"
)

func ExampleAppendStructured() {
	ev := codec.Event{
		ID:              "8d7c1a2e",
		Source:          "exprsn-timeline",
		Type:            "post:created",
		Time:            time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC),
		DataContentType: codec.ContentTypeJSON,
		Data:            []byte(`{"postId":42}`),
	}
	ev.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

	buf := make([]byte, 0, 512) // reuse it across events: encoding then allocates nothing
	buf, err := codec.AppendStructured(buf, &ev)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(buf))
	// Output:
	// {"specversion":"1.0","id":"8d7c1a2e","source":"exprsn-timeline","type":"post:created","time":"2025-03-14T15:09:26Z","datacontenttype":"application/json","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","data":{"postId":42}}
}

func ExampleDecode() {
	// A structured event as sdk-go's NATS sender writes it: no header.
	body := []byte(`{"specversion":"1.0","id":"42","source":"exprsn-herald","type":"notification:trigger",
		"datacontenttype":"application/json","data":{"user":"u-1"},"attempt":3}`)

	var ev codec.Event
	if err := codec.Decode(nil, body, &ev); err != nil {
		fmt.Println(err)
		return
	}
	attempt, _ := ev.Extension("attempt")
	fmt.Println(ev.Source, ev.Type, string(ev.Data), attempt)

	// An invalid event is an error that names the attribute.
	err := codec.Decode(nil, []byte(`{"specversion":"0.3","id":"1","source":"s","type":"t"}`), &ev)
	fmt.Println(errors.Is(err, codec.ErrSpecVersion))
	fmt.Println(err)
	// Output:
	// exprsn-herald notification:trigger {"user":"u-1"} 3
	// true
	// codec: invalid CloudEvent: attribute "specversion": got "0.3", want "1.0"
}

func ExampleEncodeMsg_binary() {
	ev := codec.Event{
		ID:              "1",
		Source:          "exprsn-spark",
		Type:            "presence:changed",
		Subject:         "Zoë is online",
		DataContentType: "text/plain",
		Data:            []byte("online"),
	}
	msg := nats.NewMsg("ipc.all.presence.changed")
	if err := codec.EncodeMsg(msg, &ev, codec.Binary); err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(msg.Header)) {
		fmt.Printf("%s: %s\n", k, msg.Header.Get(k))
	}
	fmt.Println(string(msg.Data))
	// Output:
	// Content-Type: text/plain
	// ce-id: 1
	// ce-source: exprsn-spark
	// ce-specversion: 1.0
	// ce-subject: Zo%C3%AB%20is%20online
	// ce-type: presence:changed
	// online
}
