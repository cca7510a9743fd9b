package outbox

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
)

// Stats is a snapshot of an Outbox's relay. Counts are since New; the
// pending rows and their age are as of the relay's last look at the table
// (after each round, at least every PollInterval while it runs, and after
// every batch), so they stay 0 in an Outbox whose relay does not run.
type Stats struct {
	// Service and Namespace are the worker's; Table is Config.Table.
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	Table     string `json:"table"`
	// Pending is the number of the service's rows waiting in the table:
	// committed and not yet published, or published and not yet deleted.
	Pending int64 `json:"pending"`
	// Lag is the age now of the oldest pending row, from its Emit; 0 when
	// none is pending. A lag growing past the stream's duplicate window
	// means a relay restart could store an event twice (see the package
	// doc).
	Lag time.Duration `json:"lag_ns"`
	// Published counts the events this relay stored in the stream,
	// duplicates included.
	Published uint64 `json:"published"`
	// Duplicates counts the publishes the stream dropped because it held
	// the event already: rows published before a relay stopped and
	// published again by the next.
	Duplicates uint64 `json:"duplicates"`
	// Cancels counts the schedule cancellations the relay carried out
	// (CancelSchedule), the schedules it did not find included.
	Cancels uint64 `json:"cancels"`
	// Failures counts the relay's failed rounds: a publish not
	// acknowledged within PublishTimeout, or a database error; each is
	// followed by a backoff.
	Failures uint64 `json:"failures"`
	// LastError is the message of the relay's last failure, or of the
	// last problem it saw with the lease (one expiring too far ahead,
	// which it takes over; a holder not publishing, see Stalled), cut to
	// 2 KiB; LastErrorAt is its time. Empty and zero before the first.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// PublishLatency is a moving average (the last 16 or so) of the time
	// the stream took to acknowledge a publish; 0 before the first.
	PublishLatency time.Duration `json:"publish_latency_ns"`
	// PublishTime is the total time spent waiting for acknowledgements,
	// for a summary metric with Published.
	PublishTime time.Duration `json:"publish_time_ns"`
	// Running is set while Run runs, and Leader while it holds the
	// service's lease (the one relay of the service that publishes).
	Running bool `json:"running"`
	Leader  bool `json:"leader"`
	// LeaseHolder is the relay holding the service's lease as this relay
	// last saw it while not the Leader: another relay's name,
	// "<instance>/<random>" (cut to 256 bytes); "" while this relay is the
	// Leader, and when no relay holds the lease.
	LeaseHolder string `json:"lease_holder,omitempty"`
	// Stalled is set while this relay, not the Leader, sees the oldest
	// pending row stay unpublished for 3 LeaseTTLs while LeaseHolder
	// holds the lease: that relay is not publishing (stuck, failing on a
	// row, or a lease row written by hand). Lag grows meanwhile;
	// LastError and a warning in the log say so when it starts.
	Stalled bool `json:"stalled"`
}

// stats are the relay's counters behind Stats.
type stats struct {
	running, leader, stalled       atomic.Bool
	count, dups, cancels, failures atomic.Uint64
	publishTime, latencyEWMA       atomic.Int64 // nanoseconds
	pendingRows, oldestUs          atomic.Int64

	mu        sync.Mutex
	lastErr   string
	lastErrAt time.Time
	holder    string // the lease's holder, seen on standby
}

// published counts a publish that took d.
func (s *stats) published(d time.Duration, duplicate bool) {
	s.count.Add(1)
	if duplicate {
		s.dups.Add(1)
	}
	s.publishTime.Add(int64(d))
	// Only the relay's goroutine writes the average.
	avg := s.latencyEWMA.Load()
	if avg == 0 {
		avg = int64(d)
	}
	s.latencyEWMA.Store(avg + (int64(d)-avg)/16)
}

// failed counts a failed round, and records its error.
func (s *stats) failed(err error) {
	s.failures.Add(1)
	s.note(errtext.Of(err, maxErrorText))
}

// note records msg as the last error, without counting a failure.
func (s *stats) note(msg string) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = headers.Truncate(msg, maxErrorText), time.Now()
	s.mu.Unlock()
}

// setHolder records the lease's holder, as a relay not holding it saw it.
func (s *stats) setHolder(holder string) {
	s.mu.Lock()
	s.holder = holder
	s.mu.Unlock()
}

func (s *stats) leaseHolder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holder
}

// pending records n pending rows, the oldest written at oldest (unix
// microseconds).
func (s *stats) pending(n, oldest int64) {
	s.pendingRows.Store(n)
	s.oldestUs.Store(oldest)
}

// Stats returns a snapshot of the relay's counters. It does no I/O.
func (o *Outbox) Stats() Stats {
	s := &o.stats
	st := Stats{
		Service:        o.w.Service(),
		Namespace:      o.w.Namespace(),
		Table:          o.cfg.Table,
		Pending:        s.pendingRows.Load(),
		Published:      s.count.Load(),
		Duplicates:     s.dups.Load(),
		Cancels:        s.cancels.Load(),
		Failures:       s.failures.Load(),
		PublishLatency: time.Duration(s.latencyEWMA.Load()),
		PublishTime:    time.Duration(s.publishTime.Load()),
		Running:        s.running.Load(),
		Leader:         s.leader.Load(),
		Stalled:        s.stalled.Load(),
	}
	if oldest := s.oldestUs.Load(); st.Pending > 0 && oldest > 0 {
		st.Lag = max(0, time.Since(time.UnixMicro(oldest)))
	}
	s.mu.Lock()
	st.LastError, st.LastErrorAt = s.lastErr, s.lastErrAt
	if !st.Leader {
		st.LeaseHolder = s.holder
	}
	s.mu.Unlock()
	return st
}
