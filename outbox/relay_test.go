package outbox

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// stopAfter returns an afterPublish hook that calls stop once, right
// after the n-th publish, before the row is deleted; published is closed
// then.
func stopAfter(n int64, stop func()) (hook func(int64), published <-chan struct{}) {
	var count atomic.Int64
	done := make(chan struct{})
	return func(int64) {
		if count.Add(1) == n {
			close(done)
			stop()
		}
	}, done
}

func TestRelayCancelledBetweenPublishAndDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		commit(t, f.db, f.o, 0, 20)
		ctx, cancel := context.WithCancel(context.Background())
		hook, published := stopAfter(10, cancel)
		f.o.afterPublish = hook
		if err := f.o.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
		<-published
		if n := rows(t, f.db); n != 20 {
			t.Fatalf("%d rows left, want all 20: the cancelled relay deleted none", n)
		}
		// Another process's relay takes over at once: Run released the
		// lease.
		next := f.outbox(t, testConfig())
		runRelay(t, next)
		checkOnceInOrder(t, waitStored(t, f.w, 20), 20)
		testutil.WaitUntil(t, "the relay is done", func() bool { return rows(t, f.db) == 0 })
		// At least the 10 rows published before the cancel are published
		// again; the 11th may have left before the relay saw the cancel.
		if s := next.Stats(); s.Duplicates < 10 || s.Published != 20 {
			t.Fatalf("the second relay published %d, %d of them duplicates; want 20, at least 10", s.Published, s.Duplicates)
		}
	})
}

func TestRelayGoroutineEndsAbruptly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		commit(t, f.db, f.o, 0, 30)
		hook, _ := stopAfter(7, runtime.Goexit)
		f.o.afterPublish = hook
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			f.o.Run(context.Background()) //nolint:errcheck // it never returns
			t.Error("Run returned")
		}()
		<-exited
		f.o.afterPublish = nil
		runRelay(t, f.o)
		commit(t, f.db, f.o, 30, 40)
		checkOnceInOrder(t, waitStored(t, f.w, 40), 40)
	})
}

// A relay that stops without releasing its lease (frozen, or its process
// killed) is replaced once the lease expires; when it comes back it has
// lost the lease, and what both published is stored once, in order.
func TestFrozenRelayIsReplaced(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		commit(t, f.db, f.o, 0, 50)
		thaw := make(chan struct{})
		hook, frozen := stopAfter(5, func() { <-thaw })
		f.o.afterPublish = hook
		runRelay(t, f.o)
		<-frozen

		standby := f.outbox(t, testConfig())
		runRelay(t, standby)
		testutil.WaitUntil(t, "the standby relay takes the expired lease", func() bool { return standby.Stats().Leader })
		checkOnceInOrder(t, waitStored(t, f.w, 50), 50)
		close(thaw)
		testutil.WaitUntil(t, "the thawed relay sees it lost the lease", func() bool { return !f.o.Stats().Leader })
		commit(t, f.db, f.o, 50, 80)
		checkOnceInOrder(t, waitStored(t, f.w, 80), 80)
		testutil.WaitUntil(t, "every row is deleted", func() bool { return rows(t, f.db) == 0 })
	})
}

// On PostgreSQL a transaction that emits waits for an earlier one of the
// same service that emitted, so that the relay sees ids in commit order
// (SQLite has one writer at a time anyway).
func TestPostgresCommitOrder(t *testing.T) {
	f := newFixture(t, backends[1])
	ctx := ctxFor(t)
	runRelay(t, f.o)
	first, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.o.Emit(ctx, first, "order:placed", 0, mesh.WithID("evt-0")); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() {
		tx, err := f.db.BeginTx(ctx, nil)
		if err == nil {
			err = f.o.Emit(ctx, tx, "order:placed", 1, mesh.WithID("evt-1"))
		}
		if err == nil {
			err = f.o.Commit(tx)
		}
		second <- err
	}()
	testutil.WaitUntil(t, "the second transaction waits for the first", func() bool {
		var waiting int
		err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&waiting)
		return err == nil && waiting == 1
	})
	if err := f.o.Commit(first); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	checkOnceInOrder(t, waitStored(t, f.w, 2), 2)
}

// Two relays of the service (two processes) running together publish
// every event once, in order.
func TestTwoRelays(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		other := f.outbox(t, testConfig())
		runRelay(t, f.o)
		runRelay(t, other)
		commit(t, f.db, other, 0, 50)
		commit(t, f.db, f.o, 50, 100)
		checkOnceInOrder(t, waitStored(t, f.w, 100), 100)
		if a, b := f.o.Stats().Published, other.Stats().Published; a+b < 100 {
			t.Fatalf("the relays published %d and %d events, want 100 together", a, b)
		}
	})
}

// The NATS server stops for 5 s while 1,000 events commit: once it is
// back, each is stored once, in commit order.
func TestServerOutage(t *testing.T) {
	const n, outage = 1000, 5 * time.Second
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		runRelay(t, f.o)
		commit(t, f.db, f.o, 0, 10)
		waitStored(t, f.w, 10)
		down := time.Now()
		f.srv.Shutdown()
		commit(t, f.db, f.o, 10, n)
		testutil.WaitUntil(t, "the relay keeps the rows and reports failures", func() bool {
			s := f.o.Stats()
			return s.Pending == n-10 && s.Lag > 0 && s.Failures > 0 && s.LastError != ""
		})
		// The outage itself: the server stays down for its full length.
		<-time.After(time.Until(down.Add(outage)))
		f.srv.Restart(t)
		checkOnceInOrder(t, waitStored(t, f.w, n), n)
		testutil.WaitUntil(t, "the relay is done", func() bool { return f.o.Stats().Pending == 0 })
	})
}

// With a poll too long to matter, a commit wakes the relay: Commit on
// either database, and a plain tx.Commit through LISTEN/NOTIFY on
// PostgreSQL.
func TestCommitWakesTheRelay(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		cfg := testConfig()
		cfg.PollInterval = time.Hour
		o := f.outbox(t, cfg)
		runRelay(t, o)
		testutil.WaitUntil(t, "the relay holds the lease", func() bool { return o.Stats().Leader })
		commit(t, f.db, o, 0, 1) // Commit calls Notify
		waitStored(t, f.w, 1)
		if b.name != "postgresql" {
			return
		}
		ctx := ctxFor(t)
		testutil.WaitUntil(t, "the relay listens", func() bool {
			var n int
			err := f.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN "+DefaultTable+"'").Scan(&n)
			return err == nil && n == 1
		})
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Emit(ctx, tx, "order:placed", 1, mesh.WithID("evt-1")); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		checkOnceInOrder(t, waitStored(t, f.w, 2), 2)
	})
}

// A relay whose worker was closed returns from Run once it has something
// to publish, rather than retrying forever.
func TestRunEndsWithItsWorker(t *testing.T) {
	f := newFixture(t, backends[0])
	stop := runRelay(t, f.o)
	if err := f.w.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	writer, err := New(ctxFor(t), f.db, testutil.Connect(t, f.srv, "exprsn-shop"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	commit(t, f.db, writer, 0, 1)
	f.o.Notify()
	testutil.WaitUntil(t, "the relay stops", func() bool { return !f.o.Stats().Running })
	if err := stop(); !errors.Is(err, mesh.ErrClosed) {
		t.Fatalf("Run: %v, want mesh.ErrClosed", err)
	}
}
