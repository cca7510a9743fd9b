package outbox

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/schedules"
)

// row is an outbox row as the relay reads it.
type row struct {
	id      int64
	enc     mesh.Encoded
	header  []byte
	created int64 // unix microseconds
}

// relay is one run of an Outbox's relay.
type relay struct {
	o       *Outbox
	source  string
	holder  string    // this run's name in the lease table
	leaseAt time.Time // when the lease was last taken or renewed; zero when not held
	// published is the highest id this run stored in the stream; rows up
	// to it are skipped until their delete succeeds.
	published int64
	deleted   int64 // the highest id deleted so far
	backoff   backoff
	// stuck is the oldest pending row a standby relay has seen, and
	// stuckSince when it first saw it (see watch).
	stuck      int64
	stuckSince time.Time
	// farLease is a lease of another relay seen expiring too far ahead
	// (see hold).
	farLease farLease
}

func newRelay(o *Outbox) *relay {
	return &relay{
		o:       o,
		source:  o.w.Service(),
		holder:  o.w.Instance() + "/" + crand.Text(),
		backoff: backoff{min: o.cfg.MinBackoff, max: o.cfg.MaxBackoff},
	}
}

// run is the relay's loop: a round, then a wait, until ctx ends.
func (r *relay) run(ctx context.Context) error {
	r.o.stats.running.Store(true)
	defer r.o.stats.running.Store(false)
	// The listener keeps a connection: with a pool of one, it would starve
	// the relay.
	if r.o.q.listening && r.o.db.Stats().MaxOpenConnections != 1 {
		listenCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.o.listen(listenCtx)
		}()
		defer func() { stop(); <-done }()
	}
	defer r.release(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait, wakeable, err := r.round(ctx)
		if err != nil {
			return err
		}
		timer.Reset(wait)
		wake := r.o.wake
		if !wakeable {
			wake = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-wake:
		}
	}
}

// round takes or renews the lease and, holding it, publishes every
// committed row. It returns how long to wait before the next round, and
// whether a wake-up may cut the wait (not during a backoff); err only when
// the relay cannot go on.
func (r *relay) round(ctx context.Context) (wait time.Duration, wakeable bool, err error) {
	defer r.look(ctx)
	if err := r.hold(ctx); err != nil {
		return r.failed(ctx, err)
	}
	if r.leaseAt.IsZero() {
		return min(r.o.cfg.PollInterval, r.o.cfg.LeaseTTL/3), true, nil
	}
	for {
		n, err := r.batch(ctx)
		if err != nil {
			return r.failed(ctx, err)
		}
		r.backoff.reset()
		if n < r.o.cfg.BatchSize || r.leaseAt.IsZero() {
			return r.o.cfg.PollInterval, true, nil
		}
		r.look(ctx)
	}
}

// failed records err and returns the backoff to wait, or err itself when
// the worker is closed, or nothing when ctx ended.
func (r *relay) failed(ctx context.Context, err error) (time.Duration, bool, error) {
	switch {
	case ctx.Err() != nil:
		return 0, false, ctx.Err()
	case errors.Is(err, mesh.ErrClosed):
		return 0, false, fmt.Errorf("outbox: relay: %w", err)
	}
	err = errtext.Cut(err, maxErrorText)
	r.o.stats.failed(err)
	wait := r.backoff.next()
	r.o.cfg.Logger.Warn("outbox relay failed, retrying", "error", err, "retry_in", wait)
	return wait, false, nil
}

// batch publishes the oldest rows, in order, and deletes those stored. It
// returns how many rows it read.
func (r *relay) batch(ctx context.Context) (int, error) {
	rows, err := r.fetch(ctx)
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		if row.id <= r.published {
			continue
		}
		if err := r.hold(ctx); err != nil || r.leaseAt.IsZero() {
			return len(rows), errors.Join(err, r.flush(ctx))
		}
		if err := r.publish(ctx, row); err != nil {
			return len(rows), errors.Join(err, r.flush(ctx))
		}
	}
	return len(rows), r.flush(ctx)
}

// fetch reads the oldest rows of the service.
func (r *relay) fetch(ctx context.Context) ([]row, error) {
	res, err := r.o.db.QueryContext(ctx, r.o.q.batch, r.source, r.o.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("outbox: read table %s: %w", r.o.cfg.Table, err)
	}
	defer res.Close()
	var rows []row
	for res.Next() {
		var w row
		if err := res.Scan(&w.id, &w.enc.ID, &w.enc.Event, &w.enc.Subject, &w.header, &w.enc.Data, &w.created); err != nil {
			return nil, fmt.Errorf("outbox: read table %s: %w", r.o.cfg.Table, err)
		}
		rows = append(rows, w)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("outbox: read table %s: %w", r.o.cfg.Table, err)
	}
	return rows, nil
}

// publish stores one row's event in the stream, or carries out its
// cancellation.
func (r *relay) publish(ctx context.Context, w row) error {
	if w.enc.Subject == "" {
		return r.cancel(ctx, w)
	}
	if err := json.Unmarshal(w.header, &w.enc.Header); err != nil {
		return fmt.Errorf("outbox: row %d of table %s: headers are not a JSON object (edited by hand? fix or delete the row): %w", w.id, r.o.cfg.Table, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.cfg.PublishTimeout)
	defer cancel()
	start := time.Now()
	receipt, err := r.o.w.EmitEncoded(ctx, w.enc)
	if err != nil {
		return fmt.Errorf("outbox: publish row %d: %w", w.id, err)
	}
	r.o.stats.published(time.Since(start), receipt.Duplicate)
	r.done(w.id)
	return nil
}

// cancel cancels the schedule a CancelSchedule row names; one not found
// is cancelled already, or fired.
func (r *relay) cancel(ctx context.Context, w row) error {
	ctx, cancel := context.WithTimeout(ctx, r.o.cfg.PublishTimeout)
	defer cancel()
	if err := r.o.w.CancelSchedule(ctx, w.enc.ID); err != nil && !errors.Is(err, schedules.ErrNotFound) {
		return fmt.Errorf("outbox: row %d: cancel schedule %q: %w", w.id, shortID(w.enc.ID), err)
	}
	r.o.stats.cancels.Add(1)
	r.done(w.id)
	return nil
}

// done notes that row id is published, to be deleted.
func (r *relay) done(id int64) {
	r.published = id
	if r.o.afterPublish != nil {
		r.o.afterPublish(id)
	}
}

// flush deletes the rows published and not yet deleted.
func (r *relay) flush(ctx context.Context) error {
	if r.published <= r.deleted {
		return nil
	}
	if _, err := r.o.db.ExecContext(ctx, r.o.q.delete, r.source, r.published); err != nil {
		return fmt.Errorf("outbox: delete published rows up to %d: %w", r.published, err)
	}
	r.deleted = r.published
	return nil
}

// look counts the service's pending rows and the age of the oldest, for
// Stats, and watches them while on standby.
func (r *relay) look(ctx context.Context) {
	var n, first, oldest int64
	err := r.o.db.QueryRowContext(ctx, r.o.q.pending, r.source).Scan(&n, &first, &oldest)
	if err == nil {
		r.o.stats.pending(n, oldest)
		r.watch(n, first, time.Now())
	}
}

// backoff is the relay's pause after failures: doubling from min to max,
// each pause drawn between half and all of it.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	b.cur = min(max(2*b.cur, b.min), b.max)
	return b.cur/2 + rand.N(b.cur/2+1)
}

func (b *backoff) reset() { b.cur = 0 }
