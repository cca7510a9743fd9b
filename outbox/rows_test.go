package outbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
)

// Rows written by hand that the relay cannot publish are reported by row,
// in bounded messages, with the worker left healthy; they hold back the
// later rows (order first) until they are deleted, and then those are
// published once, in order.
func TestUnpublishableHandWrittenRowsAreReportedByRow(t *testing.T) {
	tests := []struct {
		name          string
		header        string
		data          []byte
		wantInMessage string
	}{
		{"headers not JSON", `{"a": [` + strings.Repeat(`"x",`, 100_000) + `}`, []byte("{}"), "headers are not a JSON object"},
		{"body over max_payload", "{}", make([]byte, 2<<20), "maximum payload exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) {
				f := newFixture(t, b)
				commit(t, f.db, f.o, 0, 1)
				insertRow(t, f.db, b, f.w.Service(), "bad-1", "order:placed", f.w.Namespace()+".all.order.placed", tt.header, tt.data)
				commit(t, f.db, f.o, 1, 3)
				o, logs := relayWithLogs(t, f, testConfig())
				waitStored(t, f.w, 1)
				s := waitFailure(t, o)
				if !strings.Contains(s.LastError, "row 2") || !strings.Contains(s.LastError, tt.wantInMessage) || !s.Running {
					t.Errorf("LastError %.300q, running %v; want row 2 named, %q", s.LastError, s.Running, tt.wantInMessage)
				}
				checkBounded(t, o, logs)
				if err := f.w.Healthy(); err != nil {
					t.Fatalf("worker unhealthy after the row: %v", err)
				}
				if n := len(waitStored(t, f.w, 1)); n != 1 {
					t.Errorf("the stream holds %d events while the row waits, want 1", n)
				}
				deleteRow(t, f.db, b, o, "bad-1")
				checkOnceInOrder(t, waitStored(t, f.w, 3), 3)
			})
		})
	}
}

// Cancellations with odd ids (written by CancelSchedule, and one by hand
// with an empty subject and a 1 MiB id) count as cancelled, hold up no
// later row, and are reported in bounded messages; after Close,
// CancelSchedule's error quotes the id cut.
func TestCancellationsWithOddIDsHoldNothingUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		ctx := ctxFor(t)
		ids := []string{"*", ">", "a.b", "a b", "\r\nNats-Rollup: all", strings.Repeat("x", 1<<20), "_sched.ipc.at.>"}
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := f.o.CancelSchedule(ctx, tx, id); err != nil {
				tx.Rollback()
				t.Fatalf("CancelSchedule(%.40q): %v", id, err)
			}
		}
		if err := f.o.Commit(tx); err != nil {
			t.Fatal(err)
		}
		insertRow(t, f.db, b, f.w.Service(), strings.Repeat("y", 1<<20), "", "", "not json", nil)
		commit(t, f.db, f.o, 0, 2)
		o, logs := relayWithLogs(t, f, testConfig())
		checkOnceInOrder(t, waitStored(t, f.w, 2), 2)
		testutil.WaitUntil(t, "all rows relayed", func() bool { return rows(t, f.db) == 0 })
		if s := o.Stats(); s.Cancels != uint64(len(ids)+1) {
			t.Errorf("cancels %d, want %d (LastError %.200q)", s.Cancels, len(ids)+1, s.LastError)
		}
		checkBounded(t, o, logs)

		tx2, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx2.Rollback()
		if err := f.o.Close(ctx); err != nil {
			t.Fatal(err)
		}
		err = f.o.CancelSchedule(ctx, tx2, strings.Repeat("z", 1<<20))
		if !errors.Is(err, ErrClosed) || len(err.Error()) > 512 {
			t.Errorf("CancelSchedule after Close: %d bytes, %v; want a short ErrClosed", len(err.Error()), errors.Is(err, ErrClosed))
		}
	})
}
