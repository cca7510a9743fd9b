package hostiletest

// Hostile attribute values and headers beyond the table of cases_test.go:
// each checks that the good event after them is handled, the worker stays
// connected, and what it reports is bounded.

import (
	"strconv"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"github.com/stretchr/testify/require"
)

// TestLongCEHeaderNameGivenTwice: a binary-mode event with a ce- header
// whose name is 30 KiB, given twice, on each path: refused, and the
// codec's "given more than once" error quotes a bounded part of the name.
func TestLongCEHeaderNameGivenTwice(t *testing.T) {
	e := newEnv(t)
	name := "ce-" + strings.Repeat("x", 30<<10)
	block := headerBlock("ce-specversion: 1.0", "ce-id: dup-1", "ce-source: s", "ce-type: hostile:event", name+": a", name+": b")
	for _, p := range []path{pathLive, pathRequest, pathDurable} {
		t.Run(p.String(), func(t *testing.T) {
			tg := e.target(t, p)
			raw := dialRaw(t, e.srv.URL())
			in := input{RawHeader: block, Body: []byte(`"x"`)}
			switch p {
			case pathLive:
				require.NoError(t, e.send(raw, tg.subject(in), in))
			case pathRequest:
				h, _, err := e.ask(raw, tg.subject(in), in)
				require.NoError(t, err)
				re := remoteError(h)
				require.NotNil(t, re)
				require.Equal(t, 400, re.Code)
			case pathDurable:
				_, err := e.store(raw, tg.subject(in), in)
				require.NoError(t, err)
			}
			tg.reportedInvalid(t)
			e.good(t, tg)
			tg.onlyGood(t)
			tg.stillUp(t)
			if err := tg.sink.find(func(err error) bool { return len(err.Error()) > maxReportLen }); err != nil {
				t.Errorf("the worker reported an error of %d bytes built from a hostile header name: %s", len(err.Error()), truncated(err.Error()))
			}
			if p == pathDurable {
				e.idle(t, tg)
			}
		})
	}
}

// TestOddPartitionKeys: OrderedByKey handlers given events with a
// partition key of 500 KiB, an empty one, a non-string one, and keys with
// NUL and invalid-UTF-8 escapes.
func TestOddPartitionKeys(t *testing.T) {
	e := newEnv(t)
	a := e.worker(t, "attack-keys")
	rec := testutil.NewRecorder()
	opts := append(durableOpts("attack-keys"), mesh.OrderedByKey(), mesh.Concurrency(4))
	_, err := a.w.OnDurable(ctxT(t), "attack:>", rec, opts...)
	require.NoError(t, err)
	raw := dialRaw(t, e.srv.URL())
	subj := ns + ".attack-keys.attack.key"
	bodies := [][]byte{
		structured("k-1", "attack:key", `,"partitionkey":"`+fill(500<<10)+`"`),
		structured("k-2", "attack:key", `,"partitionkey":""`),
		structured("k-3", "attack:key", `,"partitionkey":12345`),
		structured("k-4", "attack:key", `,"partitionkey":"a\u0000b"`),
		structured("k-5", "attack:key", `,"partitionkey":"\ud800"`),
	}
	for _, b := range bodies {
		_, err := e.store(raw, subj, input{Body: b, Raw: true})
		require.NoError(t, err)
	}
	// Binary mode, huge key in a header.
	_, err = e.store(raw, subj, input{Header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"k-6"}, "ce-source": {"s"}, "ce-type": {"attack:key"}, "ce-partitionkey": {fill(60 << 10)}}})
	require.NoError(t, err)
	good := "good-" + nuid.Next()
	require.NoError(t, e.client.Emit(ctxT(t), "attack:key", "x", mesh.To("attack-keys"), mesh.WithID(good), mesh.WithPartitionKey("k")))
	eventually(t, "the good event handled", func() (bool, string) {
		for _, ev := range rec.Events() {
			if ev.ID == good {
				return true, ""
			}
		}
		return false, a.sink.describe()
	})
	e.consumerIdle(t, "attack-keys", a)
	a.up(t)
	a.bounded(t)
	t.Logf("handled %d events; reported %s", rec.Len(), a.sink.describe())
}

// TestForgedReplayHeaders: forged Mesh-Replay / Mesh-Redrive headers
// and forged dead-letter headers on a stored event.
func TestForgedReplayHeaders(t *testing.T) {
	e := newEnv(t)
	tg := e.target(t, pathDurable)
	raw := dialRaw(t, e.srv.URL())
	hdrs := []nats.Header{
		{"Mesh-Replay": {fill(30 << 10)}},
		{"Mesh-Redrive": {"\x00\xff"}, "Mesh-Dlq-Reason": {"forged"}, "Mesh-Dlq-Stream-Seq": {"1"}},
		{"Mesh-Replay": {"1", "2", "3"}, "Mesh-Redrive": {""}},
	}
	for i, h := range hdrs {
		ev := event{id: "forged-" + strconv.Itoa(i), source: "s", typ: "hostile:event", header: h}
		in := ev.input(variant{data: "fail"})
		seq, err := e.store(raw, tg.subject(in), in)
		require.NoError(t, err)
		tg.waitReceived(t, ev.id, "the forged event")
		e.settled(t, tg, seq)
	}
	e.good(t, tg)
	e.idle(t, tg)
	tg.stillUp(t)
}

// Odd binary-mode and structured attributes.

func TestOddAttributes(t *testing.T) {
	e := newEnv(t)
	tg := e.target(t, pathLive)
	raw := dialRaw(t, e.srv.URL())
	bin := func(lines ...string) []byte {
		return headerBlock(append([]string{"ce-source: s", "ce-type: hostile:event"}, lines...)...)
	}
	type c struct {
		name string
		in   input
	}
	var cs []c
	for i, sv := range []string{" 1.0 ", "\"1.0\"", "1.0\x00", "1.00", "1", "%31.0", "01.0"} {
		cs = append(cs, c{"specversion " + strconv.Quote(sv), input{RawHeader: bin("ce-specversion: "+sv, "ce-id: sv-"+strconv.Itoa(i)), Body: []byte(`"x"`)}})
	}
	for i, tm := range []string{"0000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59", "2024-02-30T00:00:00Z",
		"2016-12-31T23:59:60Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00." + strings.Repeat("9", 5000) + "Z",
		"+10000-01-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00+99:99"} {
		id := "time-" + strconv.Itoa(i)
		cs = append(cs, c{"time " + truncated(tm), input{RawHeader: bin("ce-specversion: 1.0", "ce-id: "+id, "ce-time: "+tm), Body: []byte(`"x"`)}})
		cs = append(cs, c{"structured time " + truncated(tm), input{Body: structured(id+"s", "hostile:event", `,"time":`+string(jsonString(tm)))}})
	}
	// Duplicate ce-* headers with conflicting values, differing in case.
	cs = append(cs,
		c{"ce-id and CE-ID", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: a", "CE-ID: b"), Body: []byte(`"x"`)}},
		c{"ce-specversion and Ce-Specversion", input{RawHeader: headerBlock("ce-specversion: 1.0", "Ce-Specversion: 0.3", "ce-id: c", "ce-source: s", "ce-type: t"), Body: []byte(`"x"`)}},
		c{"ce-foo and CE-FOO", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: d", "ce-foo: 1", "CE-FOO: 2"), Body: []byte(`"x"`)}},
		c{"Content-Type twice, different case", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: e", "Content-Type: application/json", "content-type: text/plain"), Body: []byte(`"x"`)}},
		c{"ce-datacontenttype and Content-Type", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: f", "ce-datacontenttype: text/plain", "Content-Type: application/json"), Body: []byte(`"x"`)}},
		c{"4,000 ce extensions", input{RawHeader: func() []byte {
			lines := []string{"ce-specversion: 1.0", "ce-id: g"}
			for i := range 4000 {
				lines = append(lines, "ce-x"+strconv.Itoa(i)+": v")
			}
			return bin(lines...)
		}(), Body: []byte(`"x"`)}},
		c{"ce- header with empty name", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: h", "ce-: v"), Body: []byte(`"x"`)}},
		c{"ce-data header", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: i", "ce-data: 1", "ce-data_base64: AA=="), Body: []byte(`"x"`)}},
		c{"percent-encoded NUL and CR in ce-id", input{RawHeader: bin("ce-specversion: 1.0", "ce-id: a%00b%0D%0Ac"), Body: []byte(`"x"`)}},
	)
	// Structured oddities.
	cs = append(cs,
		c{"data nested 100,000 deep (objects)", input{Body: structured("n-1", "hostile:event", `,"data":`+strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000))}},
		c{"huge float exponent in data", input{Body: structured("n-2", "hostile:event", `,"data":1e999999999999`)}},
		c{"data_base64 of 700 KiB", input{Body: structured("n-3", "hostile:event", `,"data_base64":"`+strings.Repeat("QUFB", 700<<10/4)+`"`)}},
		c{"data_base64 unpadded", input{Body: structured("n-4", "hostile:event", `,"data_base64":"QQ"`)}},
		c{"data_base64 with newlines", input{Body: structured("n-5", "hostile:event", `,"data_base64":"QU\nFB"`)}},
		c{"data_base64 null", input{Body: structured("n-6", "hostile:event", `,"data_base64":null`)}},
		c{"data null", input{Body: structured("n-7", "hostile:event", `,"data":null`)}},
		c{"extension named like a core attribute, in upper case", input{Body: structured("n-8", "hostile:event", `,"ID":"x","Type":"y"`)}},
		c{"extension name of 10 KiB", input{Body: structured("n-9", "hostile:event", `,"`+strings.Repeat("a", 10<<10)+`":"v"`)}},
		c{"extension with escaped name", input{Body: structured("n-10", "hostile:event", `,"\u0061bc":"v","abc":"w"`)}},
		c{"key escaped to collide with id", input{Body: []byte(`{"specversion":"1.0","id":"n-11","\u0069d":"other","source":"s","type":"hostile:event"}`)}},
		c{"BOM before the object", input{Body: append([]byte("\xef\xbb\xbf"), structured("n-12", "hostile:event", "")...)}},
		c{"trailing garbage after object", input{Body: append(structured("n-13", "hostile:event", ""), []byte(` {}`)...)}},
		c{"2,000 extensions", input{Body: func() []byte {
			var b strings.Builder
			for i := range 2000 {
				b.WriteString(`,"x` + strconv.Itoa(i) + `":"v"`)
			}
			return structured("n-14", "hostile:event", b.String())
		}()}},
		c{"boolean and null extensions", input{Body: structured("n-15", "hostile:event", `,"flag":true,"nothing":null`)}},
		c{"specversion number", input{Body: []byte(`{"specversion":1.0,"id":"n-16","source":"s","type":"hostile:event"}`)}},
	)
	for _, x := range cs {
		if err := e.send(raw, tg.subject(x.in), x.in); err != nil {
			t.Errorf("%s: send: %v", x.name, err)
		}
	}
	e.good(t, tg)
	tg.stillUp(t)
	if err := tg.sink.find(func(err error) bool { return len(err.Error()) > maxReportLen }); err != nil {
		t.Errorf("a report of %d bytes: %s", len(err.Error()), truncated(err.Error()))
	}
	// What was accepted: every event handled must have sane attributes.
	for _, ev := range tg.rec.Events() {
		if strings.HasPrefix(ev.ID, goodPrefix) {
			continue
		}
		if strings.ContainsAny(ev.ID, "\x00\r\n") {
			t.Logf("accepted an id with control bytes: %q", ev.ID)
		}
		// What the mesh accepted, its edge, replay and dashboard must be
		// able to write again.
		if _, err := codec.AppendStructured(nil, &ev.Event); err != nil {
			t.Errorf("accepted id %q (time %v), which cannot be encoded again: %v", truncated(ev.ID), ev.Time, err)
		}
	}
	t.Logf("accepted %d of %d odd inputs; invalid %d", tg.rec.Len()-1, len(cs), tg.w.Stats().Invalid)
}

// Flood.
