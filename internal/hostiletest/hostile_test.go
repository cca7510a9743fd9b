package hostiletest

import (
	"testing"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/stretchr/testify/require"
)

// TestHostilePublisher sends each input of the table, on each path, to a
// worker of its own, then a good event, and checks that the good event is
// handled, the hostile one is reported, answered or dead-lettered as its
// case says, the durable consumer is left with nothing unacknowledged, and
// the worker never lost its connection.
func TestHostilePublisher(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for _, p := range allPaths {
				t.Run(p.String(), func(t *testing.T) {
					t.Parallel()
					tg := e.target(t, p)
					raw := dialRaw(t, e.srv.URL())
					switch p {
					case pathLive:
						c.live(t, e, tg, raw)
					case pathRequest:
						c.request(t, e, tg, raw)
					case pathDurable:
						c.durable(t, e, tg, raw)
					case pathGuarded:
						c.guarded(t, e, tg, raw)
					}
					tg.stillUp(t)
				})
			}
		})
	}
}

// requireRefused checks the server's refusal of a payload over
// max_payload.
func requireRefused(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err, "the server took a message over max_payload")
	require.Contains(t, err.Error(), "Maximum Payload", "the sender's error")
}

func (c hostileCase) live(t *testing.T, e *env, tg *target, raw *rawConn) {
	v := variant{data: "ok"}
	in, ev := c.build(e.maxPayload(), v)
	err := e.send(raw, tg.subject(in), in)
	if c.kind == refused {
		requireRefused(t, err)
		e.good(t, tg)
		tg.onlyGood(t)
		return
	}
	require.NoError(t, err, "publish the hostile message")
	e.good(t, tg)
	switch c.kind {
	case invalid:
		tg.reportedInvalid(t)
		tg.onlyGood(t)
	case valid:
		ev.check(t, tg.waitReceived(t, ev.id+v.tag, "the hostile event"), v)
		tg.noInvalid(t)
	case tolerated:
		eventually(t, "the hostile event handled or reported invalid", func() (bool, string) {
			return len(tg.received(ev.id)) > 0 || tg.sink.find(isInvalid) != nil, tg.state()
		})
	}
}

func (c hostileCase) request(t *testing.T, e *env, tg *target, raw *rawConn) {
	v := variant{data: "ok"}
	in, ev := c.build(e.maxPayload(), v)
	h, data, err := e.ask(raw, tg.subject(in), in)
	if c.kind == refused {
		requireRefused(t, err)
		e.good(t, tg)
		tg.onlyGood(t)
		return
	}
	require.NoError(t, err, "the hostile request got no answer; %s", tg.state())
	answer := remoteError(h)
	switch c.kind {
	case invalid:
		require.NotNil(t, answer, "the hostile request was answered with a reply, not an error: headers %v, body %q", h, truncated(data))
		require.Equal(t, 400, answer.Code, "the error answer: %v", answer)
		tg.reportedInvalid(t)
		e.good(t, tg)
		tg.onlyGood(t)
	case valid:
		require.Nil(t, answer, "the hostile request was valid; the responder's answer")
		ev.check(t, tg.waitReceived(t, ev.id+v.tag, "the hostile request"), v)
		var reply codec.Event
		require.NoError(t, codec.Decode(h, data, &reply), "the reply")
		require.Equal(t, `"pong"`, string(reply.Data), "the reply's data")
		e.good(t, tg)
		tg.noInvalid(t)
	case tolerated:
		e.good(t, tg)
	}
}

func (c hostileCase) durable(t *testing.T, e *env, tg *target, raw *rawConn) {
	v := variant{data: "fail"}
	in, ev := c.build(e.maxPayload(), v)
	seq, err := e.store(raw, tg.subject(in), in)
	if c.kind == refused || c.streamRefuses {
		if c.kind == refused {
			requireRefused(t, err)
		} else {
			require.ErrorContains(t, err, "refused", "the event stream stored a header block over 64 KiB")
		}
		e.good(t, tg)
		e.idle(t, tg)
		tg.onlyGood(t)
		return
	}
	require.NoError(t, err, "store the hostile message")
	e.good(t, tg)
	dl := e.settled(t, tg, seq)
	switch c.kind {
	case invalid:
		tg.reportedInvalid(t)
		tg.onlyGood(t)
	case valid:
		ev.check(t, tg.waitReceived(t, ev.id+v.tag, "the hostile event"), v)
		tg.noInvalid(t)
	}
	if dl != nil {
		e.checkDeadLetter(t, dl, in)
	}
	e.idle(t, tg)
}

// guarded is durable, and for a valid event also checks that the guard
// skips a second copy with the same source and id, and not an event that
// differs only in the id's last byte.
func (c hostileCase) guarded(t *testing.T, e *env, tg *target, raw *rawConn) {
	if c.kind != valid || c.streamRefuses {
		c.durable(t, e, tg, raw)
		return
	}
	ok := variant{data: "ok"}
	in, ev := c.build(e.maxPayload(), ok)
	id := ev.id + ok.tag
	first, err := e.store(raw, tg.subject(in), in)
	require.NoError(t, err, "store the hostile event")
	ev.check(t, tg.waitReceived(t, id, "the hostile event"), ok)
	second, err := e.store(raw, tg.subject(in), in)
	require.NoError(t, err, "store the hostile event again")
	require.Greater(t, second, first)
	eventually(t, "the second copy of the hostile event settled", func() (bool, string) {
		info, err := e.consumer(tg)
		if err != nil {
			return false, err.Error()
		}
		return info.Delivered.Stream >= second && info.NumAckPending == 0, describeConsumer(info) + "; " + tg.state()
	})
	require.Len(t, tg.received(id), 1, "the guard let a second event with the same source and id through")
	require.NotZero(t, tg.w.Stats().Durable[tg.path.service()].Skipped, "Stats().Durable[%s].Skipped", tg.path.service())

	fail := variant{data: "fail", tag: "~"}
	in, _ = c.build(e.maxPayload(), fail)
	third, err := e.store(raw, tg.subject(in), in)
	require.NoError(t, err, "store the hostile event with another id")
	e.good(t, tg)
	got := tg.waitReceived(t, ev.id+fail.tag, "the hostile event with another id (the guard must not mistake it for the first)")
	ev.check(t, got, fail)
	if dl := e.settled(t, tg, third); dl != nil {
		e.checkDeadLetter(t, dl, in)
	}
	e.idle(t, tg)
	tg.noInvalid(t)
}
