package hostiletest

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
)

// fuzzMaxPayload is the fuzz server's max_payload: small, so that inputs
// at the limit stay cheap; it is also JetStream's limit on headers.
const fuzzMaxPayload = 64 << 10

// fuzzSubjects are where an input goes, after "<ns>.": chosen by the
// input's last argument.
var fuzzSubjects = []string{
	pathGuarded.service() + ".hostile.event",
	"all.hostile.event", // a broadcast, which the durable handler takes too
	pathGuarded.service() + ".hostile." + strings.Repeat("t.", 2012) + "end", // 4,055 bytes in all
	pathGuarded.service() + ".hostile.a.b.c.d",
}

// FuzzDurablePath drives the whole durable path (decode, the handler
// behind the idempotency guard, settle, dead letter) with arbitrary header
// blocks and bodies, published by hand, against one embedded server and
// one worker. After each input, a good event sent after it must be
// handled, the consumer must be left with nothing pending or
// unacknowledged, and the worker must never have lost its connection.
//
// The handler fails an event permanently when its data starts with
// "fail", so inputs reach the dead-letter path as well as the
// acknowledgement. An input the server or the stream refuses is not
// stored; only the good event that follows is checked then.
func FuzzDurablePath(f *testing.F) {
	e := newEnv(f, testutil.WithMaxPayload(fuzzMaxPayload))
	tg := e.target(f, pathGuarded)

	ok := basic().structured(variant{data: "ok"}, 0)
	fail := basic().structured(variant{data: "fail"}, 0)
	binary := "ce-specversion: 1.0\r\nce-id: fz\r\nce-source: s\r\nce-type: t\r\n"
	long := basic()
	long.id = fill(5 << 10)
	maxEvent := basic()
	maxEvent.size = fuzzMaxPayload
	for _, s := range []struct {
		header, body string
		subject      uint8
	}{
		{"", string(ok), 0},
		{"", string(fail), 1},
		{"", string(fail), 2},
		{"", string(long.structured(variant{data: "ok"}, 0)), 0},
		{"", string(long.structured(variant{data: "fail"}, 0)), 3},
		{"", string(maxEvent.input(variant{data: "fail"}).Body), 0},
		{"", fill(fuzzMaxPayload), 0},
		{"", "hello", 0},
		{"", "", 0},
		{"", `{"specversion":"1.0","id":"1","source":"s","type":"t","data":` + strings.Repeat("[", 20000), 0},
		{"NATS/1.0\r\nBad Key: v\r\n\r\n", string(fail), 0},
		{"NATS/1.0\r\na/b: v\r\n\r\n", "", 0},
		{"NATS/1.0\r\nX: a\rb\x00\xff\r\n\r\n", string(fail), 0},
		{"NATS/1.0\r\nNats-Expected-Stream: MESH_" + ns + "\r\n\r\n", string(fail), 0},
		{"NATS/1.0\r\nX-Pad: " + fill(65535-300) + "\r\n\r\n", string(fail), 0},
		{"NATS/1.0\r\n" + binary + "\r\n", "", 0},
		{"NATS/1.0\r\n" + strings.Replace(binary, "ce-id: fz", "ce-id: %zz", 1) + "\r\n", "", 1},
		{"NATS/1.0\r\n" + binary + "garbage\r\n\r\n", "", 0},
		{"NATS/1.0 409 Consumer Deleted\r\n\r\n", "", 0},
		{"NATS/1.0 100 Idle Heartbeat\r\n\r\n", "", 0},
		{"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1000000\r\n\r\n", "", 0},
		// Found by this target: nats.go reads what follows a bare CR on
		// the first line as an inline status, and the server cuts a first
		// line at its first CR.
		{"NATS/1.0\rce-specversion: 1.0\r\nce-id:\xa6\r\nce\xcb\xcb\xcburce: s\r\nce-type: t\r\n\r\n", "", 1},
		{"NATS/1.0\r409 Consumer Deleted\r\n\r\n", "", 0},
		{"NATS/1.0\nce-specversion: 1.0\r\x14ce-id:\xd5%zz\r\ncennnnnn\xcb\xcb\xcburce: s\r\nce-type: t\r\n\r\n", "", 1},
		{"HTTP/1.1 200 OK\r\n\r\n", string(fail), 0},
		{"NATS/1.0\r\nX: y\r\n", string(ok), 0},
	} {
		f.Add([]byte(s.header), []byte(s.body), s.subject)
	}

	// One worker serves every input, so after a failure the next inputs
	// fail at once, pointing at the first failure.
	var broken atomic.Bool
	f.Fuzz(func(t *testing.T, header, body []byte, subject uint8) {
		if broken.Load() {
			t.Fatal("an earlier input left the worker or its consumer broken; see the first failure")
		}
		defer func() {
			if t.Failed() {
				broken.Store(true)
			}
		}()
		in := input{RawHeader: header, Body: body, Raw: true}
		if len(header) == 0 {
			in.RawHeader = nil
		}
		raw := dialRaw(t, e.srv.URL())
		if _, err := e.store(raw, ns+"."+fuzzSubjects[int(subject)%len(fuzzSubjects)], in); err != nil {
			t.Logf("not stored: %v", err)
		}
		e.good(t, tg)
		e.idle(t, tg)
		tg.stillUp(t)
	})
}
