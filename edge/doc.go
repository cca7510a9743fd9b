// Package edge serves the mesh's events to browsers as server-sent events
// (SSE): a service mounts a Handler on its own mux, and a page reads it with
// the browser's EventSource.
//
//	h, err := edge.New(ctx, w, edge.Config{
//		Events:    []string{"notification:>"},
//		Authorize: onlyTheirOwn, // who may connect, and which events each sees
//	})
//	mux.Handle("GET /events", h)
//	defer h.Close(ctx)
//
// # Messages
//
// Each event is one SSE message: "event:" the event's type (see EventName),
// "data:" the CloudEvent in JSON structured form, exactly as
// docs/wire-protocol.md writes it (specversion, id, source, type, time,
// datacontenttype, extensions, then data or data_base64), and, when the
// events come from the event stream, "id:" the event's stream sequence.
// In the browser:
//
//	const es = new EventSource("/events");
//	es.addEventListener("notification:created", (m) => {
//		const ce = JSON.parse(m.data); // ce.data is the event's data
//	});
//
// A message with an "event:" field reaches addEventListener of that name,
// not onmessage. Every Config.Heartbeat (default 15 s) the handler writes
// a comment line, which EventSource ignores, so that proxies keep the
// stream open. The handler's own messages, DroppedEvent and GapEvent, have
// names with a '.', which no event's name can have.
//
// # Authorisation
//
// Config.Authorize runs once per request: it refuses the request (401, 403)
// or returns the Filter that decides, event by event, what this browser
// sees ("only this user's notifications"). Events the Filter refuses never
// reach the browser. There is no default: Public says that everyone may
// see everything.
//
// # One feed, bounded connections
//
// A Handler receives its events once, from one feed (below), decodes each
// once, renders its SSE message once, and offers it to every connection
// without waiting: each connection has a buffer of Config.BufferSize
// messages (default 256) and Config.BufferBytes bytes (default 1 MiB; one
// message is always let in), and a browser whose buffer is full is
// dropped at once with the reason "slow" (Stats.Dropped, and a final
// DroppedEvent if it still reads), so it never slows the mesh or the other
// browsers. Buffered messages are shared, not copied: a connection's buffer
// costs 8 bytes a slot (2 KiB by default) and pins at most BufferBytes of
// messages. A browser that reads more slowly than Config.WriteTimeout
// (default 10 s) per write is dropped with the reason "write_timeout". At
// most Config.MaxConnections streams (default 10,000) are open; further
// requests get 503 with Retry-After.
//
// # Feed and resume
//
// When the worker uses the namespace's event stream (mesh.Worker.Durable;
// the streams exist with mesh.Config.Stream.Manage, streams.Ensure or
// meshctl serve), the feed is one JetStream ordered consumer of the stream,
// and every message's id is the event's stream sequence. A browser that
// reconnects sends the last id it received in Last-Event-ID (EventSource
// does so by itself), and the handler first sends it the events stored
// after that sequence, with an ordered consumer of its own, up to the
// sequence from which the connection receives live events, which it then
// sends: the sequence numbers make the switch exact, so the browser misses
// nothing and receives nothing twice. A resume reads at most
// Config.MaxResume sequences of the stream (default 100,000); from further
// behind, the browser is first sent a GapEvent. A browser dropped as slow
// resumes the same way when it reconnects.
//
// Without an event stream, the feed is core NATS subscriptions (one per
// pattern and target), messages have no id and a reconnecting browser gets
// live events only.
//
// # Hostile input
//
// Events come from any publisher. A message that is not a valid CloudEvent
// is counted (Stats.Invalid) and skipped. The event name written in
// "event:" is cut and cleaned (EventName); ids are decimal sequences; data
// is the re-encoded CloudEvent, split on line breaks into "data:" lines.
//
// # Why go-sse's server is not used
//
// The SSE framing is go-sse's (github.com/tmaxmax/go-sse): its Message
// writes the id, event and multi-line data fields. Its server side
// (Server, Provider, Joe) is not used: Joe sends to subscribers one after
// the other and waits for each, so one slow browser delays all; its topics
// choose events per subscription, not per event and browser; its replay
// keeps events in memory, where the resume here reads them from the event
// stream; and it has no per-connection bound. The fan-out, buffers and
// resume are therefore this package's.
package edge
