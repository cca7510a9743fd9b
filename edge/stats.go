package edge

import "sync/atomic"

// Stats is a snapshot of a Handler's counters since New.
type Stats struct {
	// Connections is the number of streams open now, and of requests
	// being authorised.
	Connections int64 `json:"connections"`
	// Accepted counts the streams opened.
	Accepted uint64 `json:"accepted"`
	// Refused counts the requests Authorize refused (401, 403, or 503 when
	// it failed to decide).
	Refused uint64 `json:"refused"`
	// Overloaded counts the requests answered 503 because
	// Config.MaxConnections streams were open or the handler was closed.
	Overloaded uint64 `json:"overloaded"`
	// Resumed counts the streams that caught up from the event stream
	// after a Last-Event-ID.
	Resumed uint64 `json:"resumed"`
	// Received counts the valid events the handler received from the mesh.
	Received uint64 `json:"received"`
	// Invalid counts the messages that were not valid CloudEvents; they
	// were skipped.
	Invalid uint64 `json:"invalid"`
	// Sent counts the events written to browsers, each browser counted.
	Sent uint64 `json:"sent"`
	// Dropped counts the streams the handler ended, by reason (ReasonSlow,
	// ReasonWriteTimeout, ReasonShutdown); browsers that left are not
	// counted.
	Dropped map[string]uint64 `json:"dropped"`
}

// counters are a Handler's live counts.
type counters struct {
	connections                    atomic.Int64
	accepted, refused, overloaded  atomic.Uint64
	resumed, received, invalid     atomic.Uint64
	sent                           atomic.Uint64
	slow, writeTimeout, shutdowned atomic.Uint64
}

func (c *counters) dropped(reason string) {
	switch reason {
	case ReasonSlow:
		c.slow.Add(1)
	case ReasonWriteTimeout:
		c.writeTimeout.Add(1)
	case ReasonShutdown:
		c.shutdowned.Add(1)
	}
}

func (c *counters) snapshot() Stats {
	return Stats{
		Connections: c.connections.Load(),
		Accepted:    c.accepted.Load(),
		Refused:     c.refused.Load(),
		Overloaded:  c.overloaded.Load(),
		Resumed:     c.resumed.Load(),
		Received:    c.received.Load(),
		Invalid:     c.invalid.Load(),
		Sent:        c.sent.Load(),
		Dropped: map[string]uint64{
			ReasonSlow:         c.slow.Load(),
			ReasonWriteTimeout: c.writeTimeout.Load(),
			ReasonShutdown:     c.shutdowned.Load(),
		},
	}
}
