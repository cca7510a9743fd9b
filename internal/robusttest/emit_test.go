package robusttest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// TestSameIDFromTwoServicesIsTwoEvents (case 3): CloudEvents ids are unique
// per source only, so the stream's duplicate detection must not take one
// service's event for another's retry.
func TestSameIDFromTwoServicesIsTwoEvents(t *testing.T) {
	srv := testutil.StartServer(t)
	ctx := context.Background()
	ledger := testutil.Connect(t, srv, "ledger", streams)
	rec := testutil.NewRecorder()
	_, err := ledger.OnDurable(ctx, "payment:done", rec)
	require.NoError(t, err)
	orders := testutil.Connect(t, srv, "orders", streams)
	billing := testutil.Connect(t, srv, "billing", streams)

	fromOrders, err := orders.EmitWithReceipt(ctx, "payment:done", "orders", mesh.WithID("42"))
	require.NoError(t, err)
	fromBilling, err := billing.EmitWithReceipt(ctx, "payment:done", "billing", mesh.WithID("42"))
	require.NoError(t, err)
	require.False(t, fromOrders.Duplicate, "orders' event")
	require.False(t, fromBilling.Duplicate, "billing's event with the same id as orders'")
	require.NotEqual(t, fromOrders.Sequence, fromBilling.Sequence)

	rec.WaitFor(t, 0, func(evs []*mesh.Event) bool {
		sources := map[string]bool{}
		for _, ev := range evs {
			if ev.ID == "42" {
				sources[ev.Source] = true
			}
		}
		return sources["orders"] && sources["billing"]
	})

	again, err := orders.EmitWithReceipt(ctx, "payment:done", "orders", mesh.WithID("42"))
	require.NoError(t, err)
	require.True(t, again.Duplicate, "orders emitting id 42 a second time")
	require.Equal(t, fromOrders.Sequence, again.Sequence)
}

// wireSize is the size of msg as the NATS protocol counts it against
// max_payload: the body and the header block.
func wireSize(msg *nats.Msg) int {
	n := len(msg.Data)
	if len(msg.Header) > 0 {
		n += len("NATS/1.0\r\n") + len("\r\n")
		for k, vs := range msg.Header {
			for _, v := range vs {
				n += len(k) + len(": ") + len(v) + len("\r\n")
			}
		}
	}
	return n
}

// TestEmitAroundMaxPayloadIsStoredOrTooLarge (case 9): on a namespace with
// a stream, an event just under, at or just over max_payload is either
// stored or refused with ErrTooLarge, never failed by nats.go.
func TestEmitAroundMaxPayloadIsStoredOrTooLarge(t *testing.T) {
	srv := testutil.StartServer(t)
	ctx := context.Background()
	w := testutil.Connect(t, srv, "svc", streams)
	max := int(w.Conn().MaxPayload())

	// Measure what the envelope and headers add to the data, as it
	// arrives on the wire.
	raw := rawConn(t, srv)
	sub, err := raw.SubscribeSync("ipc.all.sweep.x")
	require.NoError(t, err)
	require.NoError(t, raw.Flush())
	probe := jsonString(100)
	require.NoError(t, w.Emit(ctx, "sweep:x", probe, mesh.WithContentType("application/json")))
	msg, err := sub.NextMsg(testutil.DefaultWait)
	require.NoError(t, err)
	overhead := wireSize(msg) - len(probe)
	require.NoError(t, sub.Unsubscribe())

	// The event's time varies in length by up to 9 bytes (RFC 3339 drops
	// trailing zeros of the nanoseconds): sweep a little wider than
	// max-64..max+64 so that every size in that range is covered.
	const margin = 64 + 10
	var stored, tooLarge int
	for size := max - margin; size <= max+margin; size++ {
		data := jsonString(size - overhead)
		err := w.Emit(ctx, "sweep:x", data, mesh.WithContentType("application/json"))
		switch {
		case err == nil:
			stored++
		case errors.Is(err, mesh.ErrTooLarge):
			tooLarge++
		default:
			t.Fatalf("emit of an event of about %d bytes (max_payload %d): want success or ErrTooLarge, got %v (nats.ErrMaxPayload: %t)",
				size, max, err, errors.Is(err, nats.ErrMaxPayload))
		}
	}
	require.NotZero(t, stored, "events under max_payload are stored")
	require.NotZero(t, tooLarge, "events over max_payload are refused")
}

// jsonString returns a JSON string literal n bytes long, as []byte.
func jsonString(n int) []byte {
	return []byte(`"` + strings.Repeat("d", n-2) + `"`)
}

// TestTryEmitWithCancelledContextCountsFailures (case 10): every TryEmit
// that fails is reported and counted, a cancelled context included.
func TestTryEmitWithCancelledContextCountsFailures(t *testing.T) {
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	cfg := plain
	cfg.OnError = sink.report
	w := testutil.Connect(t, srv, "svc", cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 3 {
		require.False(t, w.TryEmit(ctx, "some:event", i), "TryEmit %d with a cancelled context", i)
	}
	require.Len(t, sink.all(), 3, "OnError reports")
	require.Equal(t, uint64(3), w.Stats().EmitFailed)
}

// TestLongestNamesWorkForDurableHandlers (case 12): a service name and an
// event name of the longest sizes subjects accepts still make a durable
// handler that receives its events.
func TestLongestNamesWorkForDurableHandlers(t *testing.T) {
	service := "svc-" + strings.Repeat("s", 60)
	require.Len(t, service, 64)
	var segs []string
	for i := range 16 {
		segs = append(segs, fmt.Sprintf("seg%02d-", i)+strings.Repeat("e", 8))
	}
	event := strings.Join(segs, ":")
	event += strings.Repeat("x", 243-len(event))
	require.Len(t, event, 243)

	srv := testutil.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w := testutil.Connect(t, srv, service, streams)
	rec := testutil.NewRecorder()
	_, err := w.OnDurable(ctx, event, rec)
	require.NoError(t, err)
	require.NoError(t, w.Emit(ctx, event, "long", mesh.ToSelf()))
	got := rec.WaitN(t, 1, 0)
	require.Equal(t, event, got[0].Type)
	require.Equal(t, service, got[0].Source)
}
