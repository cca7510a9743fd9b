package outbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// unknownDriver is a database/sql driver the outbox does not know.
type unknownDriver struct{}

func (unknownDriver) Open(string) (driver.Conn, error) { return nil, errors.New("not a database") }

func init() { sql.Register("outbox-unknown", unknownDriver{}) }

func TestNewRefuses(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-shop")
	live := testutil.Connect(t, testutil.StartServer(t), "exprsn-shop")
	unknown, err := sql.Open("outbox-unknown", "")
	if err != nil {
		t.Fatal(err)
	}
	db := openSQLite(t)
	tests := []struct {
		name    string
		db      *sql.DB
		w       *mesh.Worker
		cfg     Config
		wantErr error
	}{
		{"uppercase table", db, w, Config{Table: "Outbox"}, ErrTableName},
		{"table with a quote", db, w, Config{Table: "outbox'; drop table users; --"}, ErrTableName},
		{"table starting with a digit", db, w, Config{Table: "1outbox"}, ErrTableName},
		{"schema-qualified table", db, w, Config{Table: "app.outbox"}, ErrTableName},
		{"table too long", db, w, Config{Table: strings.Repeat("t", MaxTableLen+1)}, ErrTableName},
		{"unknown driver", unknown, w, Config{}, ErrDialect},
		{"namespace without a stream", db, live, Config{}, ErrNoStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ctxFor(t), tt.db, tt.w, tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New: %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := New(ctxFor(t), db, w, Config{Table: strings.Repeat("t", MaxTableLen)}); err != nil {
		t.Fatalf("New with the longest table name: %v", err)
	}
}

func TestEmitRefusesBeforeWriting(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		ctx := ctxFor(t)
		tests := []struct {
			name  string
			event string
			data  any
			opts  []mesh.EmitOption
		}{
			{"invalid event name", "order placed", 1, nil},
			{"invalid target", "order:placed", 1, []mesh.EmitOption{mesh.To("no.such.service")}},
			{"data that does not marshal", "order:placed", make(chan int), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tx, err := f.db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.o.Emit(ctx, tx, tt.event, tt.data, tt.opts...); err == nil {
					t.Fatal("Emit succeeded")
				}
				if err := tx.Commit(); err != nil {
					t.Fatalf("the transaction is still the caller's to commit: %v", err)
				}
				if n := rows(t, f.db); n != 0 {
					t.Fatalf("%d rows written", n)
				}
			})
		}
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := f.o.Emit(ctx, nil, "order:placed", 1); !errors.Is(err, ErrNilTx) {
			t.Fatalf("Emit with a nil tx: %v, want ErrNilTx", err)
		}
		if err := f.o.Commit(nil); !errors.Is(err, ErrNilTx) {
			t.Fatalf("Commit of a nil tx: %v, want ErrNilTx", err)
		}
		if err := f.o.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.o.Emit(ctx, tx, "order:placed", 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Emit after Close: %v, want ErrClosed", err)
		}
		if err := f.o.Run(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Run after Close: %v, want ErrClosed", err)
		}
	})
}

// rows counts the rows in the default outbox table.
func rows(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + DefaultTable).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRollbackEmitsNothingCommitEmitsOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		ctx := ctxFor(t)
		rec := testutil.NewRecorder()
		reader := testutil.Connect(t, f.srv, "exprsn-herald")
		if _, err := reader.OnDurable(ctx, "order:placed", rec, mesh.StartAtFirst()); err != nil {
			t.Fatal(err)
		}
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.o.Emit(ctx, tx, "order:placed", -1, mesh.WithID("rolled-back")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		runRelay(t, f.o)
		commit(t, f.db, f.o, 0, 1)

		checkOnceInOrder(t, waitStored(t, f.w, 1), 1)
		ev := rec.WaitN(t, 1, 0)[0]
		if ev.ID != "evt-0" || ev.Source != "exprsn-shop" {
			t.Fatalf("the handler got %s from %s, want evt-0 from exprsn-shop", ev.ID, ev.Source)
		}
		testutil.WaitUntil(t, "the published row is deleted", func() bool { return rows(t, f.db) == 0 })
		// A second event behind the first shows nothing else was coming.
		commit(t, f.db, f.o, 1, 2)
		checkOnceInOrder(t, waitStored(t, f.w, 2), 2)
		if got := rec.WaitN(t, 2, 0); len(got) != 2 || got[1].ID != "evt-1" {
			t.Fatalf("the handler got %d events, want evt-0 then evt-1", len(got))
		}
		testutil.WaitUntil(t, "Stats shows both published, none pending", func() bool {
			s := f.o.Stats()
			return s.Published == 2 && s.Pending == 0 && s.Lag == 0 && s.Leader && s.Running && s.Failures == 0
		})
	})
}

func TestRunTwice(t *testing.T) {
	f := newFixture(t, backends[0])
	runRelay(t, f.o)
	testutil.WaitUntil(t, "the relay runs", func() bool { return f.o.Stats().Running })
	if err := f.o.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}

// A scheduled event emitted through the outbox is stored by the relay as
// its schedule, and fires at its time as one emitted directly would.
func TestScheduledEmit(t *testing.T) {
	f := newFixture(t, backends[0])
	ctx := ctxFor(t)
	rec := testutil.NewRecorder()
	if _, err := f.w.On(ctx, "order:reminder", rec); err != nil {
		t.Fatal(err)
	}
	runRelay(t, f.o)
	at := time.Now().Add(time.Second).UTC()
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.o.Emit(ctx, tx, "order:reminder", 7, mesh.At(at), mesh.WithID("reminder-7")); err != nil {
		t.Fatal(err)
	}
	if err := f.o.Commit(tx); err != nil {
		t.Fatal(err)
	}
	ev := rec.WaitN(t, 1, 0)[0]
	if now := time.Now(); now.Before(at) {
		t.Errorf("fired at %v, before its time %v", now, at)
	}
	if want := "reminder-7@" + at.Format(time.RFC3339Nano); ev.ID != want || string(ev.Data) != "7" {
		t.Errorf("fired %s with %s, want %s with 7", ev.ID, ev.Data, want)
	}
	if s := f.o.Stats(); s.Published != 1 {
		t.Errorf("the relay published %d messages, want the schedule's 1", s.Published)
	}
}

// A schedule cancelled through the outbox is cancelled once the cancelling
// transaction commits, whether or not the relay had published it yet; a
// cancellation rolled back cancels nothing, and one of a schedule that
// does not exist holds up no later row.
func TestCancelSchedule(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		ctx := ctxFor(t)
		write := func(rollback bool, fn func(tx *sql.Tx) error) {
			t.Helper()
			tx, err := f.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := fn(tx); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
			if rollback {
				err = tx.Rollback()
			} else {
				err = f.o.Commit(tx)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		schedule := func(id string) func(tx *sql.Tx) error {
			return func(tx *sql.Tx) error {
				return f.o.Emit(ctx, tx, "order:reminder", id, mesh.After(time.Hour), mesh.WithID(id))
			}
		}
		cancel := func(ids ...string) func(tx *sql.Tx) error {
			return func(tx *sql.Tx) error {
				for _, id := range ids {
					if err := f.o.CancelSchedule(ctx, tx, id); err != nil {
						return err
					}
				}
				return nil
			}
		}
		pending := func() []string {
			all, err := f.w.Schedules(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range all {
				ids = append(ids, s.ID)
			}
			return ids
		}
		relayed := func(what string, published, cancels uint64) {
			t.Helper()
			testutil.WaitUntil(t, what, func() bool {
				s := f.o.Stats()
				return s.Published == published && s.Cancels == cancels && s.Pending == 0 && rows(t, f.db) == 0
			})
		}

		// Emitted and cancelled before the relay ran: published, then
		// cancelled, in commit order.
		write(false, schedule("r1"))
		write(false, cancel("r1"))
		runRelay(t, f.o)
		relayed("the relay publishes r1's schedule and cancels it", 1, 1)
		if ids := pending(); len(ids) != 0 {
			t.Fatalf("pending schedules %v, want none", ids)
		}

		write(false, schedule("r2"))
		relayed("the relay publishes r2's schedule", 2, 1)
		write(true, cancel("r2"))
		if n := rows(t, f.db); n != 0 {
			t.Fatalf("a rolled-back cancellation left %d rows", n)
		}
		if ids := pending(); !slices.Equal(ids, []string{"r2"}) {
			t.Fatalf("pending schedules %v, want [r2]", ids)
		}

		write(false, cancel("never-scheduled", "r2"))
		commit(t, f.db, f.o, 0, 1)
		relayed("the relay cancels both and publishes the event after them", 3, 3)
		if ids := pending(); len(ids) != 0 {
			t.Fatalf("pending schedules %v, want none", ids)
		}
		if err := f.o.CancelSchedule(ctx, nil, "r3"); !errors.Is(err, ErrNilTx) {
			t.Errorf("CancelSchedule with a nil tx: %v, want ErrNilTx", err)
		}
		write(true, func(tx *sql.Tx) error {
			if err := f.o.CancelSchedule(ctx, tx, ""); err == nil {
				t.Error("CancelSchedule with an empty id wrote a row")
			}
			return nil
		})
	})
}

// Emit racing with Close and a running relay: no panic, no race; each
// Emit either writes or fails with ErrClosed, and Run returns nil.
func TestEmitRacingCloseWritesOrFailsWithErrClosed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		o := f.outbox(t, testConfig())
		runErr := make(chan error, 1)
		go func() { runErr <- o.Run(context.Background()) }()
		testutil.WaitUntil(t, "the relay runs", func() bool { return o.Stats().Running })
		ctx := ctxFor(t)
		var wg sync.WaitGroup
		bad := make(chan error, 8*20)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					tx, err := f.db.BeginTx(ctx, nil)
					if err != nil {
						bad <- err
						return
					}
					err = o.Emit(ctx, tx, "order:placed", i)
					switch {
					case err == nil:
						err = o.Commit(tx)
					case errors.Is(err, ErrClosed):
						err = tx.Rollback()
					default:
						tx.Rollback()
					}
					if err != nil {
						bad <- err
					}
				}
			}()
		}
		if err := o.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
		close(bad)
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run after Close: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("Run did not return after Close")
		}
		for err := range bad {
			t.Errorf("Emit during Close: %v", err)
		}
	})
}
