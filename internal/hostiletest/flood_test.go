package hostiletest

// Hostile volume and odd calls: a flood of invalid messages among good
// events, odd emits and requests, and an export of events the codec
// accepts but could once not write again.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/nats-io/nuid"
	"github.com/stretchr/testify/require"
)

// TestFloodOfInvalidMessagesKeepsGoodLatency: 20,000 invalid messages at
// full speed to a live and a durable handler while good events flow; each
// good event must be handled within a bound and the workers must stay
// connected.
func TestFloodOfInvalidMessagesKeepsGoodLatency(t *testing.T) {
	e := newEnv(t)
	live := e.target(t, pathLive)
	dur := e.target(t, pathDurable)
	raw := dialRaw(t, e.srv.URL())
	stop := make(chan struct{})
	flooded := make(chan int)
	go func() {
		n := 0
		defer func() { flooded <- n }()
		bad := []byte(`{"specversion":"1.0","id":` + strings.Repeat("[", 1000))
		for ; n < 20000; n++ {
			select {
			case <-stop:
				return
			default:
			}
			subj := ns + "." + pathLive.service() + ".hostile.flood"
			if n%10 == 0 {
				subj = ns + "." + pathDurable.service() + ".hostile.flood"
			}
			if err := raw.publish(subj, "", nil, bad); err != nil {
				return
			}
		}
	}()
	var worst time.Duration
	for range 20 {
		start := time.Now()
		e.good(t, live)
		e.good(t, dur)
		worst = max(worst, time.Since(start))
	}
	close(stop)
	n := <-flooded
	t.Logf("flood of %d invalid messages; worst good round trip %v; live invalid %d, durable invalid %d", n, worst, live.w.Stats().Invalid, dur.w.Stats().Invalid)
	if worst > 5*time.Second {
		t.Errorf("a good event took %v during the flood", worst)
	}
	live.stillUp(t)
	dur.stillUp(t)
	e.idle(t, dur)
}

// The emit side.

// TestEmitOddInputs: EmitBatch and Request with odd inputs get clear
// errors, and the worker stays up.
func TestEmitOddInputs(t *testing.T) {
	e := newEnv(t)
	a := e.worker(t, "attack-emit")
	ctx := ctxT(t)
	max := e.maxPayload()

	_, err := a.w.EmitBatch(ctx, nil)
	t.Logf("EmitBatch(nil): %v", err)
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{})
	t.Logf("EmitBatch(empty): %v", err)
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1}, {Event: "", Data: 1}})
	require.Error(t, err, "an empty event name")
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: make(chan int)}})
	require.Error(t, err, "data that does not marshal")
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: strings.Repeat("x", max)}})
	require.ErrorIs(t, err, mesh.ErrTooLarge)
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{mesh.WithID(""), mesh.To("")}}})
	require.Error(t, err, "an empty target")
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{mesh.WithID(strings.Repeat("i", 600<<10))}}})
	t.Logf("EmitBatch with an id of 600 KiB: %v", err)
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{mesh.WithExtension("BAD", "v")}}})
	require.Error(t, err, "a bad extension name")
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{mesh.WithExtension("ok", "a\r\nb\x00")}}})
	t.Logf("EmitBatch with CR LF NUL in an extension: %v", err)
	_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{mesh.TTL(-time.Second)}}})
	t.Logf("EmitBatch with a negative TTL: %v", err)
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Logf("EmitBatch with a nil option panics in the caller: %v", v)
			}
		}()
		_, err = a.w.EmitBatch(ctx, []mesh.BatchEvent{{Event: "attack:ok", Data: 1, Options: []mesh.BatchEventOption{nil}}})
		t.Logf("EmitBatch with a nil option: %v", err)
	}()

	// Request with data that marshals to over max_payload.
	_, err = a.w.Request(ctx, "hostile-request", "hostile:big", strings.Repeat("x", max+10))
	require.ErrorIs(t, err, mesh.ErrTooLarge)
	_, err = a.w.Request(ctx, "hostile-request", "hostile:big", map[string]any{"deep": deep(100000)})
	t.Logf("Request with 100,000-deep data: %v", truncErr(err))
	// Request with an id of 600 KiB and an extension of 300 KiB: fits.
	_, err = a.w.Request(ctx, "hostile-nobody", "hostile:big", 1, mesh.WithID(strings.Repeat("i", 600<<10)), mesh.WithExtension("big", strings.Repeat("v", 300<<10)))
	require.ErrorIs(t, err, mesh.ErrNoResponders)
	a.up(t)
	a.bounded(t)
}

func deep(n int) any {
	var v any = 1
	for range n {
		v = []any{v}
	}
	return v
}

func truncErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return truncated(err.Error())
}

// TestReplayExportOfBinaryDataWithoutContentType: stored events with
// data_base64 and no datacontenttype (binary data, which the codec once
// took for JSON and could not write again), ten in a row, then a good
// event: replay.Export writes every one of them, the good one included,
// and no error quotes an id whole.
func TestReplayExportOfBinaryDataWithoutContentType(t *testing.T) {
	e := newEnv(t)
	tg := e.target(t, pathLive)
	raw := dialRaw(t, e.srv.URL())
	ctx := ctxT(t)
	for i := range 10 {
		body := structured(fill(200<<10)+strconv.Itoa(i), "hostile:event", `,"data_base64":"AAEC"`)
		_, err := e.store(raw, ns+"."+pathLive.service()+".hostile.event", input{Body: body, Raw: true})
		require.NoError(t, err)
	}
	good := "good-" + nuid.Next()
	rc, err := e.client.EmitWithReceipt(ctx, "hostile:good", "good", mesh.To(pathLive.service()), mesh.WithID(good))
	require.NoError(t, err)
	tg.waitReceived(t, good, "the good event")
	var out strings.Builder
	p, err := replay.Export(ctx, e.js, replay.Query{Namespace: ns, UntilSeq: rc.Sequence}, &out, nil)
	t.Logf("export: %+v, error of %d bytes: %s", p, len(truncErr(err)), truncErr(err))
	if err != nil && len(err.Error()) > maxReportLen {
		t.Errorf("replay.Export's error is %d bytes, built from hostile ids", len(err.Error()))
	}
	if !strings.Contains(out.String(), good) {
		t.Errorf("the good event %s (sequence %d) was not exported: %d events written, %d failed", good, rc.Sequence, p.Delivered, p.Failed)
	}
}
