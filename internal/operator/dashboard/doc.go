// Package dashboard is the live dashboard of meshctl serve: a page at "/"
// (plain HTML, JavaScript and CSS embedded in the binary, nothing fetched
// from elsewhere) and the HTTP API it reads, mounted on the bridge's HTTP
// port beside /api/ipc/stats.
//
// # Reading
//
//	GET /                           the page
//	GET /api/ipc/dashboard          {"namespace", "actions": "disabled" | "loopback" | "token"}
//	GET /api/ipc/stats/stream       SSE: the stats report, as /api/ipc/stats serves it, every Config.Interval
//	GET /api/ipc/events?event=P     SSE: the namespace's events matching pattern P (default ">"), through package edge
//	GET /api/ipc/deadletters        dead letters, oldest first (?service=S, ?limit=N: default 100, at most 1,000)
//	GET /api/ipc/deadletters/{id}   one dead letter in full, the event as its CloudEvent JSON
//	GET /api/ipc/schedules          pending scheduled events, soonest first (?limit=N as above)
//
// The events stream is edge's: one SSE message per event, "event:" its
// type, "data:" the CloudEvent, "id:" its sequence in the event stream, so
// a reconnect with Last-Event-ID resumes; `curl -N` reads it. Its pattern
// is a mesh pattern ("order:*", "content:>"), checked: an invalid one is
// refused with 400 and the reason. Reading needs no credentials, as
// /api/ipc/stats does not: bind --http to loopback, or put the bridge
// behind a proxy that authenticates.
//
// # Actions
//
//	POST /api/ipc/deadletters/{id}/redrive   re-drive one dead letter to the service that failed it
//	POST /api/ipc/deadletters/purge          purge the dead letters (?service=S: only that service's)
//	POST /api/ipc/schedules/{key}/cancel     cancel a pending scheduled event
//
// Actions change the mesh, so each is refused with 403 and the reason
// unless Actions allows it: not at all by default; with Actions.Enabled,
// from loopback clients that name the bridge by a loopback host (so that a
// web page cannot reach it through DNS rebinding), or, with Actions.Token,
// from any client that sends the token in the X-Mesh-Dashboard-Token
// header. Every action must also carry the header "X-Mesh-Dashboard: 1",
// which the page sends: a form on another site cannot send a header, and a
// script on another site must first ask the browser's CORS preflight,
// which the bridge never grants.
package dashboard
