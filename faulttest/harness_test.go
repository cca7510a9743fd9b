package faulttest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

var soak = flag.Bool("soak", false, "run the fault tests with larger counts")

// scaled returns n, or ten times n under -soak.
func scaled(n int) int {
	if *soak {
		return 10 * n
	}
	return n
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ledger records what a fault test emitted, what the stream acknowledged,
// and what the durable handler handled.
type ledger struct {
	mu       sync.Mutex
	handled  map[string]int
	acked    []string
	failed   int
	refused  int
	progress *testutil.Recorder
}

func newLedger() *ledger {
	return &ledger{handled: map[string]int{}, progress: testutil.NewRecorder()}
}

// handler is the durable handler: it records each event id.
func (l *ledger) handler() mesh.Handler {
	return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		l.mu.Lock()
		l.handled[ev.ID]++
		l.mu.Unlock()
		return l.progress.HandleEvent(ctx, ev)
	})
}

// pending is an emit waiting for its acknowledgement.
type pending struct {
	id string
	a  *mesh.AsyncEmit
}

// emit emits n events asynchronously, calling fault(i) before each, and
// collects every outcome.
func (l *ledger) emit(t *testing.T, w *mesh.Worker, n int, fault func(i int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var waiting []pending
	for i := range n {
		fault(i)
		id := "evt-" + strconv.Itoa(i)
		a, err := w.EmitAsync(ctx, "fault:event", i, mesh.WithID(id), mesh.ToSelf())
		if err != nil {
			l.refused++
			continue
		}
		waiting = append(waiting, pending{id, a})
	}
	for _, p := range waiting {
		_, err := p.a.Wait(ctx)
		switch {
		case err == nil:
			l.acked = append(l.acked, p.id)
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			t.Fatalf("no outcome for emit %s", p.id)
		default:
			l.failed++
		}
	}
}

// waitHandled waits until every acknowledged event was handled, then
// prints the summary line and asserts it.
func (l *ledger) waitHandled(t *testing.T, name string, emitted int) {
	t.Helper()
	l.progress.WaitFor(t, 2*time.Minute, func([]*mesh.Event) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, id := range l.acked {
			if l.handled[id] == 0 {
				return false
			}
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	lost, duplicates := 0, 0
	for _, id := range l.acked {
		if l.handled[id] == 0 {
			lost++
		}
	}
	for _, c := range l.handled {
		duplicates += c - 1
	}
	summary := fmt.Sprintf("%s: emitted %d, acknowledged %d, failed with an error %d, refused %d, handled %d distinct, lost %d, duplicates %d",
		name, emitted, len(l.acked), l.failed, l.refused, len(l.handled), lost, duplicates)
	t.Log(summary)
	require.Zero(t, lost)
	require.Equal(t, emitted, len(l.acked)+l.failed+l.refused, "every emit has an outcome")
	require.NotEmpty(t, l.acked)
}
