package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

const (
	// leaseSkew is how far ahead of a relay's clock, past LeaseTTL, a
	// lease may expire and still be one a relay wrote: an allowance for
	// clocks that disagree. A lease expiring later is taken over.
	leaseSkew = time.Minute
	// stallAfter is how many LeaseTTLs a standby relay sees the oldest
	// pending row stay unpublished under another holder before it
	// reports the holder as stalled.
	stallAfter = 3
	// maxErrorText bounds Stats.LastError and the errors the relay logs:
	// they may quote a row's id, event name or subject, which can be
	// anything a hand-written row holds.
	maxErrorText = 2048
)

// hold takes the lease, or renews it once a third of its TTL has passed.
// It takes a lease that is free, its own, expired, or expiring further
// ahead than LeaseTTL + leaseSkew and left unchanged for a LeaseTTL of
// this relay's clock: no live relay writes that (a row edited by hand, or
// a relay gone whose clock was far ahead), and it would otherwise stop
// every relay until then. A lease that far ahead but renewed is a live
// relay's whose clock is ahead: it is left to it, so that two relays with
// clocks apart do not take it from each other on every renewal. (Two
// relays that both think they hold the lease publish the same rows in the
// same order, and the stream keeps the first copy of each.)
func (r *relay) hold(ctx context.Context) error {
	if !r.leaseAt.IsZero() && time.Since(r.leaseAt) < r.o.cfg.LeaseTTL/3 {
		return nil
	}
	now := time.Now()
	takeover := int64(math.MaxInt64) // a lease expiring after it is taken over
	if r.leaseAt.IsZero() {
		var err error
		if takeover, err = r.inspect(ctx, now); err != nil {
			r.o.stats.leader.Store(false)
			return err
		}
	}
	res, err := r.o.db.ExecContext(ctx, r.o.q.lease, r.source, r.holder, now.Add(r.o.cfg.LeaseTTL).UnixMicro(), now.UnixMicro(), takeover)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	r.leaseAt = time.Time{}
	if err != nil {
		r.o.stats.leader.Store(false)
		return fmt.Errorf("outbox: take the lease of %s: %w", r.source, err)
	}
	if n == 1 {
		r.leaseAt = now
		r.o.stats.setHolder("")
	}
	r.o.stats.leader.Store(n == 1)
	return nil
}

// inspect reads the lease before a relay not holding it tries to take it,
// at now: for Stats.LeaseHolder, and to find a lease that hold takes over
// (see hold), which it reports. It returns the expiry past which the
// lease is taken over: the lease's own when it is such a lease, else
// never.
func (r *relay) inspect(ctx context.Context, now time.Time) (int64, error) {
	var holder string
	var expires int64
	err := r.o.db.QueryRowContext(ctx, r.o.q.holder, r.source).Scan(&holder, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r.o.stats.setHolder("")
		return math.MaxInt64, nil
	case err != nil:
		return 0, fmt.Errorf("outbox: read the lease of %s: %w", r.source, err)
	}
	r.o.stats.setHolder(shortID(holder))
	far := now.Add(r.o.cfg.LeaseTTL + leaseSkew)
	if holder == r.holder || expires <= far.UnixMicro() {
		r.farLease = farLease{}
		return math.MaxInt64, nil
	}
	if r.farLease.holder != holder || r.farLease.expires != expires {
		r.farLease = farLease{holder: holder, expires: expires, since: now}
	}
	if now.Sub(r.farLease.since) < r.o.cfg.LeaseTTL {
		return math.MaxInt64, nil // renewed lately: a live relay's
	}
	until := time.UnixMicro(expires).UTC().Format(time.RFC3339)
	r.o.stats.note(fmt.Sprintf("outbox: the lease of %s in table %s_lease is held by %q until %s, more than LeaseTTL (%s) + %s ahead of this relay's clock: "+
		"unchanged for LeaseTTL, so no live relay renews it (a row edited by hand, or a relay gone whose clock was far ahead); this relay takes it over",
		r.source, r.o.cfg.Table, shortID(holder), until, r.o.cfg.LeaseTTL, leaseSkew))
	r.o.cfg.Logger.Warn("outbox relay takes over a lease that expires too far ahead (edited by hand, or a relay whose clock is ahead)",
		"holder", shortID(holder), "expires", until, "max_expected", far.UTC().Format(time.RFC3339))
	return expires - 1, nil
}

// farLease is a lease seen expiring too far ahead, and since when it has
// not changed.
type farLease struct {
	holder  string
	expires int64
	since   time.Time
}

// watch notes, on a relay not holding the lease, pending rows that the
// holder leaves unpublished: the oldest pending row, first, unchanged for
// stallAfter LeaseTTLs while another relay holds the lease. It reports
// that once (Stats.Stalled, LastError, a warning), until the oldest row
// changes or this relay takes the lease.
func (r *relay) watch(n, first int64, now time.Time) {
	holder := r.o.stats.leaseHolder()
	if !r.leaseAt.IsZero() || n == 0 || holder == "" || first != r.stuck {
		r.stuck, r.stuckSince = first, now
		r.o.stats.stalled.Store(false)
		return
	}
	waited := now.Sub(r.stuckSince)
	if waited < stallAfter*r.o.cfg.LeaseTTL || r.o.stats.stalled.Load() {
		return
	}
	// Stalled is set last, once LastError and the log say why: only the
	// relay's goroutine calls watch.
	defer r.o.stats.stalled.Store(true)
	r.o.stats.note(fmt.Sprintf("outbox: %d rows of %s pending, the oldest (row %d) unpublished for %s while relay %q holds the lease: "+
		"it is not publishing (stuck, or failing on a row: see its Stats and logs; or the lease row was written by hand)",
		n, r.source, first, waited.Round(time.Second), holder))
	r.o.cfg.Logger.Warn("outbox relay on standby: the relay holding the lease is not publishing",
		"holder", holder, "pending", n, "oldest_row", first, "unpublished_for", waited.Round(time.Second))
}

// release gives the lease up, so that a standby relay takes over at once.
func (r *relay) release(ctx context.Context) {
	if r.leaseAt.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.cfg.PublishTimeout)
	defer cancel()
	if _, err := r.o.db.ExecContext(ctx, r.o.q.release, r.source, r.holder); err != nil {
		r.o.cfg.Logger.Warn("outbox relay could not release its lease; another relay takes over when it expires", "error", err)
	}
	r.o.stats.leader.Store(false)
}
