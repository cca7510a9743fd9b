package replay_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/testutil"
)

// maxErrLen bounds an error built from events whose ids are huge.
const maxErrLen = 4 << 10

// store stores body as it is on the event subject of service herald.
func store(t *testing.T, js jetstream.JetStream, body string) *jetstream.PubAck {
	t.Helper()
	ack, err := js.Publish(context.Background(), "ipc.exprsn-herald.hostile.event", []byte(body))
	require.NoError(t, err)
	return ack
}

func structured(id, extra string) string {
	return `{"specversion":"1.0","id":` + strconv.Quote(id) + `,"source":"hostile","type":"hostile:event"` + extra + `}`
}

// TestExportOfBinaryDataWithoutContentType: events with data_base64 and no
// datacontenttype (binary data) and ids of 200 KiB are written, with their
// bytes, and so is the good event after them; no error quotes an id whole.
func TestExportOfBinaryDataWithoutContentType(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", durable)
	js := w.JetStream()
	huge := strings.Repeat("i", 200<<10)
	for i := range 12 {
		store(t, js, structured(huge+strconv.Itoa(i), `,"data_base64":"AAEC"`))
	}
	good := store(t, js, structured("good", `,"datacontenttype":"application/json","data":{"a":1}`))

	var out bytes.Buffer
	p, err := replay.Export(context.Background(), js, replay.Query{UntilSeq: good.Sequence}, &out, nil)
	if err != nil {
		require.Less(t, len(err.Error()), maxErrLen, "an error built from ids of 200 KiB")
	}
	require.NoError(t, err)
	require.Equal(t, uint64(13), p.Delivered)
	evs, err := replay.ReadJSONLines(&out)
	require.NoError(t, err)
	require.Len(t, evs, 13)
	for _, ev := range evs[:12] {
		assert.Equal(t, []byte{0, 1, 2}, ev.Data)
		assert.False(t, ev.DataIsJSON(), "data_base64 is binary data")
	}
	assert.Equal(t, "good", evs[12].ID)
	assert.JSONEq(t, `{"a":1}`, string(evs[12].Data))
}

// TestReplaySkipsEventsTooBigToRedeliver: stored events that the replay
// headers push over max_payload fail one by one, with a bounded error, and
// the good event after a dozen of them is still re-delivered.
func TestReplaySkipsEventsTooBigToRedeliver(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithMaxPayload(4096))
	w := testutil.Connect(t, srv, "exprsn-timeline", durable)
	js := w.JetStream()
	id := strings.Repeat("i", 2000)
	for i := range 12 {
		body := structured(id+strconv.Itoa(i), `,"data":"`)
		store(t, js, body+strings.Repeat("x", 4090-len(body))+`"}`)
	}
	good := store(t, js, structured("good", `,"data":1`))

	p, err := replay.Replay(context.Background(), js, replay.Query{UntilSeq: good.Sequence}, replay.Options{To: "exprsn-herald"})
	require.Error(t, err)
	assert.ErrorIs(t, err, nats.ErrMaxPayload)
	assert.Less(t, len(err.Error()), maxErrLen, "an error built from ids of 2 KB: %.300s", err)
	assert.Contains(t, err.Error(), "12 events failed")
	assert.Equal(t, uint64(12), p.Failed)
	assert.Equal(t, uint64(1), p.Delivered, "the good event after the bad ones")
}

type brokenWriter struct{ writes int }

var errBroken = errors.New("disk full")

func (b *brokenWriter) Write(p []byte) (int, error) {
	b.writes++
	return 0, errBroken
}

// TestExportStopsAtAWriteError: a writer that fails fails every later
// event too: Export stops at the first error.
func TestExportStopsAtAWriteError(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", durable)
	emitMix(t, w, 150)
	var out brokenWriter
	p, err := replay.Export(context.Background(), w.JetStream(), replay.Query{}, &out, nil)
	require.ErrorIs(t, err, errBroken)
	assert.Equal(t, uint64(1), p.Failed, "stopped at the first failed write")
	assert.Less(t, p.Matched, uint64(150))
	assert.Equal(t, 1, out.writes)
}
