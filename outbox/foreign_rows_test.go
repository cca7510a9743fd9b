package outbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
)

// A row written by hand whose subject is not one of the namespace's event
// or schedule subjects (a JetStream API subject that would purge the event
// stream, another namespace's, a dead-letter subject, one of 1 MiB), or
// that pairs such a subject with a 1 MiB id or event name, is refused: the
// relay reports it by row in a bounded Stats.LastError, sends nothing
// there (the event stream keeps exactly what it held), and the worker
// stays healthy; once the row is deleted, the later rows are published,
// once each, in order. This relies on mesh.Worker.EmitEncoded refusing
// such subjects, with the values it quotes cut.
func TestHandWrittenRowOnAForeignSubjectIsRefused(t *testing.T) {
	huge := strings.Repeat("i", 1<<20)
	tests := []struct {
		name, id, event, subject string
	}{
		{"JetStream API subject", "api-1", "order:placed", "$JS.API.STREAM.PURGE." + subjects.EventStream("ipc")},
		{"another namespace", "ns-1", "order:placed", "nowhere.all.order.placed"},
		{"dead-letter subject", "dlq-1", "order:placed", subjects.DeadLetterSubject("ipc", "exprsn-shop", "ipc.all.order.placed")},
		{"1 MiB subject", "long-1", "order:placed", "ipc.all." + strings.Repeat("s", 1<<20)},
		{"1 MiB id, foreign subject", huge, "order:placed", "nowhere.all.order.placed"},
		{"1 MiB event name, foreign subject", "event-1", strings.Repeat("e", 1<<20), "nowhere.all.order.placed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) {
				f := newFixture(t, b)
				commit(t, f.db, f.o, 0, 3)
				insertRow(t, f.db, b, f.w.Service(), tt.id, tt.event, tt.subject, "{}", []byte(`{}`))
				commit(t, f.db, f.o, 3, 5)
				o, logs := relayWithLogs(t, f, testConfig())
				waitStored(t, f.w, 3)
				s := waitFailure(t, o)
				if !strings.Contains(s.LastError, "row 4") {
					t.Errorf("LastError does not name row 4: %.300q", s.LastError)
				}
				checkBounded(t, o, logs)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_ = f.w.Conn().FlushWithContext(ctx) // a round trip, for the server to answer what the row sent
				if err := f.w.Healthy(); err != nil {
					t.Fatalf("one hand-written row broke the worker: %v", err)
				}
				checkOnceInOrder(t, waitStored(t, f.w, 3), 3)
				deleteRow(t, f.db, b, o, tt.id)
				checkOnceInOrder(t, waitStored(t, f.w, 5), 5)
			})
		})
	}
}
