package outbox

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/testutil"
)

// setLease writes the service's lease row by hand: held by holder until
// expires.
func setLease(t *testing.T, f *fixture, b backend, holder string, expires time.Time) {
	t.Helper()
	q := "INSERT INTO " + DefaultTable + "_lease (source, holder, expires_us) VALUES (?, ?, ?)"
	if b.name == "postgresql" {
		q = dollars(q)
	}
	if _, err := f.db.ExecContext(ctxFor(t), q, f.w.Service(), holder, expires.UnixMicro()); err != nil {
		t.Fatal(err)
	}
}

// A lease row expiring further ahead than LeaseTTL plus the skew
// allowance (edited by hand, or written by a relay whose clock is far
// ahead) would stop every relay until then: the relay takes it over,
// saying so in Stats.LastError and its log, and publishes. A lease within
// the allowance is another relay's, and is left to it.
func TestALeaseExpiringTooFarAheadIsTakenOver(t *testing.T) {
	cfg := testConfig()
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("far ahead", func(t *testing.T) {
			f := newFixture(t, b)
			ghost := strings.Repeat("g", 1<<16)
			setLease(t, f, b, ghost, time.UnixMicro(1<<62))
			commit(t, f.db, f.o, 0, 1)
			o, logs := relayWithLogs(t, f, cfg)
			checkOnceInOrder(t, waitStored(t, f.w, 1), 1)
			testutil.WaitUntil(t, "the relay publishes the row", func() bool { return o.Stats().Published == 1 })
			s := o.Stats()
			if !s.Leader || !strings.Contains(s.LastError, "this relay takes it over") || !strings.Contains(s.LastError, `held by "ggg`) {
				t.Errorf("leader %v, LastError %.300q; want the leader, saying it took the lease over", s.Leader, s.LastError)
			}
			if !strings.Contains(logs.String(), "expires too far ahead") {
				t.Errorf("no warning in the relay's log: %.500s", logs.String())
			}
			checkBounded(t, o, logs)
		})
		t.Run("within the allowance", func(t *testing.T) {
			f := newFixture(t, b)
			setLease(t, f, b, "other-relay", time.Now().Add(cfg.LeaseTTL+leaseSkew/2))
			commit(t, f.db, f.o, 0, 1)
			o, _ := relayWithLogs(t, f, cfg)
			// A round ends with a look at the table: once the pending row
			// is counted, the first round's lease attempt is over.
			testutil.WaitUntil(t, "the relay has tried the lease", func() bool {
				s := o.Stats()
				return s.LeaseHolder == "other-relay" && s.Pending == 1
			})
			if s := o.Stats(); s.Leader || s.Published != 0 || s.LastError != "" {
				t.Errorf("leader %v, published %d, LastError %q; want the lease left to its holder", s.Leader, s.Published, s.LastError)
			}
		})
	})
}

// A standby relay that sees the oldest pending row stay unpublished for
// 3 LeaseTTLs while another relay holds the lease (here the leader fails
// on a row written by hand) reports it: Stats.Stalled, the holder in
// Stats.LeaseHolder, LastError and a warning; once the row is deleted and
// the rows flow again, Stalled clears.
func TestStandbyReportsALeaderThatDoesNotPublish(t *testing.T) {
	cfg := testConfig()
	cfg.LeaseTTL, cfg.MaxBackoff = 1500*time.Millisecond, 200*time.Millisecond
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		leader := f.outbox(t, cfg)
		runRelay(t, leader)
		testutil.WaitUntil(t, "the first relay holds the lease", func() bool { return leader.Stats().Leader })
		insertRow(t, f.db, b, f.w.Service(), "bad-1", "order:placed", f.w.Namespace()+".all.order.placed", "not json", []byte("{}"))
		commit(t, f.db, leader, 0, 2)
		waitFailure(t, leader)

		standby, logs := relayWithLogs(t, f, cfg)
		testutil.WaitUntil(t, "the standby reports the leader stalled", func() bool { return standby.Stats().Stalled })
		s := standby.Stats()
		if s.Leader || !strings.HasPrefix(s.LeaseHolder, f.w.Instance()+"/") || s.Pending != 3 {
			t.Errorf("standby: leader %v, lease holder %q, pending %d; want another holder, 3 pending", s.Leader, s.LeaseHolder, s.Pending)
		}
		if !strings.Contains(s.LastError, "it is not publishing") || !strings.Contains(s.LastError, s.LeaseHolder) || s.Failures != 0 {
			t.Errorf("standby: LastError %q, failures %d; want the stall named, no failure of its own", s.LastError, s.Failures)
		}
		if !strings.Contains(logs.String(), "the relay holding the lease is not publishing") {
			t.Errorf("no warning in the standby's log: %.500s", logs.String())
		}
		if ls := leader.Stats(); !ls.Leader || ls.LeaseHolder != "" || ls.Stalled {
			t.Errorf("leader: %+v; want the leader, not stalled, no other holder", ls)
		}

		deleteRow(t, f.db, b, leader, "bad-1")
		checkOnceInOrder(t, waitStored(t, f.w, 2), 2)
		testutil.WaitUntil(t, "the standby sees the rows flow again", func() bool { return !standby.Stats().Stalled })
	})
}

// A lease far ahead that its holder keeps renewing is a live relay's whose
// clock is ahead, not a dead one's: it is taken over only once it has not
// changed for a LeaseTTL of this relay's clock, so that two relays whose
// clocks are apart do not take the lease from each other on every
// renewal.
func TestARenewedLeaseFarAheadIsLeftToItsHolder(t *testing.T) {
	f := newFixture(t, backends[0])
	r := newRelay(f.o)
	ctx := ctxFor(t)
	ttl := f.o.cfg.LeaseTTL
	now := time.Now()
	farAhead := now.Add(ttl + leaseSkew + time.Hour)
	setLease(t, f, backends[0], "other", farAhead)
	takeover := func(at time.Time) int64 {
		t.Helper()
		n, err := r.inspect(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := takeover(now); n != math.MaxInt64 {
		t.Fatalf("a lease first seen far ahead is taken over at once (up to %d)", n)
	}
	// Renewed by its holder: seen anew, left to it again.
	renew := "UPDATE " + DefaultTable + "_lease SET expires_us = ? WHERE source = ?"
	if _, err := f.db.ExecContext(ctx, renew, farAhead.Add(time.Second).UnixMicro(), f.w.Service()); err != nil {
		t.Fatal(err)
	}
	if n := takeover(now.Add(ttl)); n != math.MaxInt64 {
		t.Fatalf("a far lease renewed within LeaseTTL is taken over (up to %d)", n)
	}
	// Unchanged for a LeaseTTL: nobody renews it, taken over.
	if n := takeover(now.Add(2 * ttl)); n != farAhead.Add(time.Second).UnixMicro()-1 {
		t.Fatalf("a far lease unchanged for LeaseTTL is not taken over (%d)", n)
	}
}
