package mesh_test

// What a worker does when code beside it misbehaves (exporters of
// ExportStats) or the server goes away in the middle of a batch or of
// asynchronous emits.

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

type badMarshal struct{ mode string }

func (b badMarshal) MarshalJSON() ([]byte, error) {
	switch b.mode {
	case "panic":
		panic(b)
	case "invalid":
		return []byte(`{"a":`), nil
	}
	return nil, errors.New(string(make([]byte, 1<<20)))
}

type panicString struct{}

func (panicString) String() string { panic("again") }
func (panicString) Error() string  { panic("again") }

// Hostile exported values: panics (with values whose String/Error panic),
// invalid JSON, runtime.Goexit in the exporter. The stats answer must go on.
func TestExportStatsSurvivesHostileExporters(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-shop")
	var goexits atomic.Int32
	if testing.Short() {
		goexits.Store(5)
	}
	exports := map[string]func() any{
		"panic":        func() any { panic(panicString{}) },
		"marshalpanic": func() any { return badMarshal{"panic"} },
		"invalid":      func() any { return badMarshal{"invalid"} },
		"error":        func() any { return badMarshal{"error"} },
		"cycle":        func() any { m := map[string]any{}; m["m"] = m; return m },
		"ok":           func() any { return 1 },
		"goexit": func() any {
			if goexits.Add(1) == 1 {
				runtime.Goexit()
			}
			return 2
		},
	}
	for name, f := range exports {
		_, err := w.ExportStats(name, f)
		require.NoError(t, err)
	}
	done := make(chan mesh.InstanceStats, 1)
	go func() {
		defer func() { recover() }()
		done <- askStats(t, srv)
	}()
	select {
	case <-done:
	case <-time.After(testutil.DefaultWait):
	}
	// The second and third requests must be answered whatever the first did.
	for i := 0; i < 2; i++ {
		ch := make(chan mesh.InstanceStats, 1)
		go func() {
			defer func() { recover() }()
			ch <- askStats(t, srv)
		}()
		select {
		case st := <-ch:
			require.JSONEq(t, `1`, string(st.Extra["ok"]))
			t.Logf("answer %d: dropped %v", i, st.ExtraDropped)
		case <-time.After(testutil.DefaultWait + time.Second):
			t.Fatalf("stats request %d after an exporter called runtime.Goexit was not answered: the worker's stats subscription is dead", i+2)
		}
	}
	require.NoError(t, w.Healthy())
}

// EmitBatch while the server goes away mid-batch: returns within its
// context, with a prefix that the stream really holds after a restart.
func TestEmitBatchServerLossMidBatch(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{RequestTimeout: time.Second})
	const n = 40_000
	events := batchOf("loss", n)
	type result struct {
		receipts []mesh.Receipt
		err      error
	}
	res := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	go func() {
		r, err := w.EmitBatch(ctx, events)
		res <- result{r, err}
	}()
	// Wait until the stream holds some of the batch, then kill the server.
	s := eventStream(t, w)
	testutil.WaitUntil(t, "part of the batch stored", func() bool {
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs > 500
	})
	srv.Shutdown()
	var r result
	select {
	case r = <-res:
	case <-time.After(15 * time.Second):
		t.Fatal("EmitBatch did not return after the server went away")
	}
	var be *mesh.EmitBatchError
	if r.err == nil {
		t.Logf("the whole batch was stored before the server went away")
		return
	}
	require.ErrorAs(t, r.err, &be, "error: %v", r.err)
	t.Logf("EmitBatch: stored %d, err %v", be.Stored, r.err)
	srv.Restart(t)
	testutil.WaitUntil(t, "worker reconnected", func() bool { return w.Healthy() == nil })
	ids := storedIDs(t, w)
	if len(ids) < be.Stored {
		t.Fatalf("EmitBatchError.Stored=%d but the stream holds %d events after restart", be.Stored, len(ids))
	}
	for i := 0; i < be.Stored; i++ {
		if want := "loss-" + strconv.Itoa(i); ids[i] != want {
			t.Fatalf("stream position %d holds %s, want %s", i, ids[i], want)
		}
	}
	if !errors.Is(r.err, mesh.ErrUnconfirmed) && len(ids) > be.Stored+1 {
		t.Errorf("not ErrUnconfirmed, Stored=%d, but %d events are in the stream", be.Stored, len(ids))
	}
}

// EmitAsync futures pending when the server goes away all end, Flush and
// Close return.
func TestEmitAsyncServerLoss(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w, err := mesh.Connect(context.Background(), mesh.Config{Service: "exprsn-timeline", Servers: []string{srv.URL()}, AsyncEmitTimeout: 2 * time.Second})
	require.NoError(t, err)
	var futures []*mesh.AsyncEmit
	for i := 0; i < 2000; i++ {
		f, err := w.EmitAsync(context.Background(), "post:created", i)
		if err != nil {
			break
		}
		futures = append(futures, f)
		if i == 1000 {
			srv.Shutdown()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, f := range futures {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		_, err := f.Wait(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && time.Now().After(deadline) {
			t.Fatalf("future %d of %d still pending 10 s after the server went away (AsyncEmitTimeout 2 s)", i, len(futures))
		}
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer fcancel()
	if err := w.Flush(fctx); err != nil {
		t.Logf("Flush: %v", err)
	}
	// Close returns within its context, whatever it could not flush.
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	_ = w.Close(cctx)
}
