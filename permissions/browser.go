package permissions

import (
	"errors"
	"fmt"

	"github.com/exprsn/ipcmesh/subjects"
)

// ConnectionWebSocket is nats-server's name for a WebSocket connection in
// allowed_connection_types (jwt.ConnectionTypeWebsocket).
const ConnectionWebSocket = "WEBSOCKET"

// Browser is a user of a web page that reads the mesh straight from NATS
// over WebSocket (nats.ws), one user per person or session so that each
// sees only its own feeds.
type Browser struct {
	// Name is the NATS user name, e.g. "browser-u42": a valid service name
	// (subjects.ValidateService) that is no service's and not
	// OperatorName. Required.
	Name string `json:"name"`
	// Feeds are the events it may receive. Put a user's own events under
	// a segment of their name, "user:u42:notification", and give that user
	// Feed{Event: "user:u42:>"}: it receives them and no other user's.
	// Required.
	Feeds []Feed `json:"feeds"`
}

// ForBrowser returns the user of browser b in namespace ns. It may
// subscribe to its feeds' subjects and nothing else, in no queue group
// but one named after it, which no service uses (so it cannot take a
// share of a service's events); it may publish nothing, not even a
// request (a subscribe-only client needs no inbox), and it may connect
// over WebSocket only (ConnectionTypes). It reads live events: resuming
// after a disconnection needs the event stream, which only the SSE edge
// (package edge) reads for browsers. It fails on an invalid name or feed.
func ForBrowser(ns string, b Browser) (User, error) {
	if err := subjects.ValidateService(b.Name); err != nil {
		return User{}, fmt.Errorf("permissions: browser: %w", err)
	}
	if b.Name == OperatorName {
		return User{}, fmt.Errorf("permissions: browser %q is named as the operator", b.Name)
	}
	if len(b.Feeds) == 0 {
		return User{}, errors.New("permissions: browser " + b.Name + ": no feeds")
	}
	if err := subjects.ValidateNamespace(ns); err != nil {
		return User{}, fmt.Errorf("permissions: %w", err)
	}
	filters, err := feedFilters(ns, b.Feeds)
	if err != nil {
		return User{}, fmt.Errorf("permissions: browser %s: %w", b.Name, err)
	}
	p := Permissions{DenyPublish: []string{">"}}
	for _, f := range filters {
		p.Subscribe = append(p.Subscribe, f, f+" "+b.Name)
	}
	return User{Name: b.Name, Permissions: p, ConnectionTypes: []string{ConnectionWebSocket}}, nil
}
