package hostiletest

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/stretchr/testify/require"
)

// TestRequestWithReplyOutsideAnInboxIsNotAnswered sends valid requests
// whose reply subject is not an inbox: a key of another service's
// idempotency bucket (computable from its service, handler, and the
// event's source and id), another service's event subject, the
// dead-letter stream, the signing keys' bucket, wildcards. NATS does not
// check a reply subject against the requester's permissions, so an answer
// there would write where the requester may not. Each is refused as
// invalid without reaching the responder, nothing arrives on the reply
// subject, and the guarded service still handles the event whose key the
// first reply subject named.
func TestRequestWithReplyOutsideAnInboxIsNotAnswered(t *testing.T) {
	e := newEnv(t)
	rq := e.target(t, pathRequest)
	guarded := e.target(t, pathGuarded)
	const id = "order-42" // a chosen id, as outbox and retry patterns use
	guardKey := pathGuarded.service() + "." + base64.RawURLEncoding.EncodeToString([]byte(pathGuarded.service())) + "." + subjects.DuplicateKey("hostile-client", id)
	replies := []string{
		"$KV." + subjects.IdempotencyBucket(ns, pathGuarded.service()) + "." + guardKey,
		ns + "." + pathLive.service() + ".hostile.spoofed",
		"_dlq." + ns + "." + pathDurable.service() + ".hostile.event",
		"$KV.MESH_" + ns + "_keys." + pathLive.service(),
		"_INBOX.*", "_INBOX.>", ">", "_INBOX_.x",
	}
	watch, err := e.nc.SubscribeSync(">")
	require.NoError(t, err)
	raw := dialRaw(t, e.srv.URL())
	for i, reply := range replies {
		require.NoError(t, raw.publish("_rpc."+ns+"."+pathRequest.service()+".hostile.event", reply, nil, structured("reply-"+strconv.Itoa(i), "hostile:event", `,"data":"x"`)))
	}
	require.NoError(t, raw.flush())
	require.NoError(t, rq.w.Conn().Flush())
	e.good(t, rq) // the responder has taken the hostile requests before it
	rq.reportedInvalid(t)
	require.Equal(t, uint64(len(replies)), rq.w.Stats().Invalid, "requests refused; %s", rq.state())
	for i := range replies {
		require.Empty(t, rq.received("reply-"+strconv.Itoa(i)), "a request with reply subject %s reached the responder", replies[i])
	}
	// What the responder sent before the good reply reached this
	// connection before it: drain until a second passes without more.
	for {
		m, err := watch.NextMsg(time.Second)
		if err != nil {
			break
		}
		for _, reply := range replies {
			if m.Subject == reply {
				t.Errorf("a message arrived on the reply subject %s: %q", reply, truncated(string(m.Data)))
			}
		}
	}

	require.NoError(t, e.client.Emit(t.Context(), "hostile:order", "x", mesh.To(pathGuarded.service()), mesh.WithID(id)))
	guarded.waitReceived(t, id, "the event whose guard key a reply subject named")
	rq.stillUp(t)
	guarded.stillUp(t)
}

// TestRequestWithReplyIntoJetStreamAPIIsRefused: requests (an invalid one, whose
// 400 answer is headers only with an empty body, what STREAM.DELETE takes;
// a valid one, whose JSON reply PURGE would read as "purge everything")
// whose reply subject is the JetStream API. The server refuses such reply
// subjects itself; the stream must be intact and the worker up.
func TestRequestWithReplyIntoJetStreamAPIIsRefused(t *testing.T) {
	e := newEnv(t)
	tg := e.target(t, pathRequest)
	ctx := ctxT(t)
	rc, err := e.client.EmitWithReceipt(ctx, "hostile:keep", "keep me", mesh.To("hostile-nobody"))
	require.NoError(t, err)
	for _, x := range []struct{ reply, body string }{
		{"$JS.API.STREAM.DELETE." + eventStream(), "not json"},
		{"$JS.API.STREAM.PURGE." + eventStream(), string(structured("purge-1", "hostile:event", `,"data":"x"`))},
	} {
		raw := dialRaw(t, e.srv.URL())
		_ = raw.publish("_rpc."+ns+"."+pathRequest.service()+".hostile.event", x.reply, nil, []byte(x.body))
		err := raw.flush()
		t.Logf("reply subject %s: the server answered %v", x.reply, err)
	}
	require.NoError(t, tg.w.Conn().Flush())
	e.good(t, tg)
	s, err := e.js.Stream(ctx, eventStream())
	require.NoError(t, err, "the event stream is gone")
	_, err = s.GetMsg(ctx, rc.Sequence)
	require.NoError(t, err, "the event stored before the attack was lost")
	tg.stillUp(t)
}
