package mesh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// batchOf returns n "post:created" events with ids "<prefix>-<i>" and data
// {"n":i}.
func batchOf(prefix string, n int) []mesh.BatchEvent {
	events := make([]mesh.BatchEvent, n)
	for i := range events {
		events[i] = mesh.BatchEvent{Event: "post:created", Data: map[string]int{"n": i},
			Options: []mesh.BatchEventOption{mesh.WithID(fmt.Sprintf("%s-%d", prefix, i))}}
	}
	return events
}

func eventStream(t *testing.T, w *mesh.Worker) jetstream.Stream {
	t.Helper()
	s, err := w.JetStream().Stream(context.Background(), subjects.EventStream(w.Namespace()))
	require.NoError(t, err)
	return s
}

// storedIDs returns the CloudEvents ids of the event stream's messages, in
// stream order.
func storedIDs(t *testing.T, w *mesh.Worker) []string {
	t.Helper()
	s := eventStream(t, w)
	info, err := s.Info(context.Background())
	require.NoError(t, err)
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(context.Background(), seq)
		require.NoError(t, err)
		var ev struct{ ID string }
		require.NoError(t, json.Unmarshal(m.Data, &ev))
		ids = append(ids, ev.ID)
	}
	return ids
}

func TestEmitBatchStoresEveryEventInOrder(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	const n = 5000 // several flow-control windows
	receipts, err := w.EmitBatch(context.Background(), batchOf("p", n))
	require.NoError(t, err)
	require.Len(t, receipts, n)
	ids := storedIDs(t, w)
	require.Len(t, ids, n)
	for i, r := range receipts {
		require.Equal(t, fmt.Sprintf("p-%d", i), r.ID)
		require.Equal(t, r.ID, ids[i], "stream order is the batch's order")
		require.Equal(t, subjects.EventStream("ipc"), r.Stream)
		require.Equal(t, "ipc.all.post.created", r.Subject)
	}
	require.Equal(t, uint64(n), receipts[n-1].Sequence, "the last receipt has the stream sequence")
	require.Equal(t, uint64(n), w.Stats().Emitted)
}

func TestEmitBatchReachesHandlers(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	live, durable := testutil.NewRecorder(), testutil.NewRecorder()
	_, err := w.On(context.Background(), "post:created", live)
	require.NoError(t, err)
	onDurable(t, w, "post:created", durable)
	_, err = w.EmitBatch(context.Background(), batchOf("h", 3))
	require.NoError(t, err)
	for _, rec := range []*testutil.Recorder{live, durable} {
		evs := rec.WaitN(t, 3, 0)
		require.Equal(t, "h-2", evs[2].ID)
		require.JSONEq(t, `{"n":2}`, string(evs[2].Data))
	}
	// Events of one batch take their own target and TTL.
	targeted := mesh.BatchEvent{Event: "post:created", Data: "mine",
		Options: []mesh.BatchEventOption{mesh.ToSelf(), mesh.TTL(time.Minute), mesh.WithID("h-self")}}
	_, err = w.EmitBatch(context.Background(), []mesh.BatchEvent{targeted})
	require.NoError(t, err)
	ev := durable.WaitFor(t, 0, func(evs []*mesh.Event) bool { return len(evs) == 4 })[3]
	require.Equal(t, "h-self", ev.ID)
	require.Equal(t, "exprsn-timeline", ev.Target)
	m, err := eventStream(t, w).GetMsg(context.Background(), ev.StreamSequence)
	require.NoError(t, err)
	require.Equal(t, "1m0s", m.Header.Get(jetstream.MsgTTLHeader))
}

// TestEmitBatchStoresARetriedBatchOnce: a batch emitted again, in part
// stored before, stores only what was missing.
func TestEmitBatchStoresARetriedBatchOnce(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	events := batchOf("r", 10)
	_, err := w.EmitBatch(context.Background(), events[:3])
	require.NoError(t, err)
	_, err = w.EmitBatch(context.Background(), events[5:7])
	require.NoError(t, err)
	receipts, err := w.EmitBatch(context.Background(), events)
	require.NoError(t, err)
	require.Len(t, receipts, 10)
	ids := storedIDs(t, w)
	require.Equal(t, []string{"r-0", "r-1", "r-2", "r-5", "r-6", "r-3", "r-4", "r-7", "r-8", "r-9"}, ids)
	_, err = w.EmitBatch(context.Background(), events)
	require.NoError(t, err)
	require.Len(t, storedIDs(t, w), 10, "a batch stored before stores nothing")
}

// TestEmitBatchStopsAtAnEventTheStreamRefuses: events before the refused
// one are stored, none after it, and the error says which and why.
func TestEmitBatchStopsAtAnEventTheStreamRefuses(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	s := eventStream(t, w)
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = 2048
	_, err := w.JetStream().UpdateStream(context.Background(), cfg)
	require.NoError(t, err)

	events := batchOf("s", 10)
	events[6] = mesh.BatchEvent{Event: "post:large", Data: map[string]string{"body": strings.Repeat("x", 4096)}}
	receipts, err := w.EmitBatch(context.Background(), events)
	var be *mesh.EmitBatchError
	require.ErrorAs(t, err, &be)
	require.Equal(t, 6, be.Stored)
	require.Equal(t, "post:large", be.Event)
	require.ErrorContains(t, err, "maximum")
	require.False(t, errors.Is(err, mesh.ErrUnconfirmed))
	require.Len(t, receipts, 10)
	require.Equal(t, []string{"s-0", "s-1", "s-2", "s-3", "s-4", "s-5"}, storedIDs(t, w))
	require.Equal(t, uint64(6), w.Stats().Emitted)
	require.Equal(t, uint64(4), w.Stats().EmitFailed)
}

func TestEmitBatchRefusesAnInvalidEventAndSendsNothing(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	events := batchOf("i", 5)
	events[2].Event = "bad event"
	receipts, err := w.EmitBatch(context.Background(), events)
	require.ErrorContains(t, err, `event 2 ("bad event")`)
	require.ErrorContains(t, err, "nothing sent")
	require.Nil(t, receipts)
	require.Empty(t, storedIDs(t, w))
}

// TestEmitBatchWithoutFastBatches: on a stream that does not allow fast
// batches, each event is stored in turn, with full receipts.
func TestEmitBatchWithoutFastBatches(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	op := testutil.Connect(t, srv, "operator")
	s := eventStream(t, op)
	cfg := s.CachedInfo().Config
	cfg.AllowBatchPublish = false
	_, err := op.JetStream().UpdateStream(context.Background(), cfg)
	require.NoError(t, err)

	w := testutil.Connect(t, srv, "exprsn-timeline")
	receipts, err := w.EmitBatch(context.Background(), batchOf("o", 4))
	require.NoError(t, err)
	for i, r := range receipts {
		require.Equal(t, uint64(i+1), r.Sequence)
	}
	again, err := w.EmitBatch(context.Background(), batchOf("o", 4))
	require.NoError(t, err)
	require.True(t, again[3].Duplicate)
	require.Len(t, storedIDs(t, w), 4)
}

// TestEmitBatchUnconfirmed: with the server gone, EmitBatch gives up when
// its context ends, with ErrUnconfirmed and the receipts' ids for a retry.
func TestEmitBatchUnconfirmed(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w, err := mesh.Connect(context.Background(), mesh.Config{Service: "exprsn-timeline", Servers: []string{srv.URL()}})
	require.NoError(t, err)
	srv.NATS.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	receipts, err := w.EmitBatch(ctx, batchOf("u", 3))
	require.ErrorIs(t, err, mesh.ErrUnconfirmed)
	var be *mesh.EmitBatchError
	require.ErrorAs(t, err, &be)
	require.Equal(t, 0, be.Stored)
	require.Equal(t, "u-0", receipts[0].ID)
	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
	defer cancelClose()
	_ = w.Close(closeCtx) // the server is gone: what Close could not flush is not this test's
}

func TestEmitBatchWithoutAStreamSendsLive(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline")
	rec := testutil.NewRecorder()
	_, err := w.On(context.Background(), "post:created", rec)
	require.NoError(t, err)
	receipts, err := w.EmitBatch(context.Background(), batchOf("l", 3))
	require.NoError(t, err)
	require.Empty(t, receipts[0].Stream)
	require.Equal(t, "l-1", rec.WaitN(t, 3, 0)[1].ID)
}

// TestEmitBatchOutlastsRequestTimeout: without a deadline, RequestTimeout
// bounds each wait for the server, not the whole batch.
func TestEmitBatchOutlastsRequestTimeout(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	// Long enough for any one wait of a loaded machine (a window of 2,000
	// events); the batch, under -race, takes several times as long.
	const timeout = time.Second
	w := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{RequestTimeout: timeout})
	const n = 30_000
	start := time.Now()
	receipts, err := w.EmitBatch(context.Background(), batchOf("t", n))
	took := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, uint64(n), receipts[n-1].Sequence)
	require.Greater(t, took, timeout, "the batch must outlast RequestTimeout for this test to show anything")
}
