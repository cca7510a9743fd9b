package dashboard

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
)

// The headers of an action.
const (
	// ActionHeader must be "1" on every action: a cross-site form cannot
	// send it, and a cross-site script cannot without a CORS preflight,
	// which the bridge does not grant.
	ActionHeader = "X-Mesh-Dashboard"
	// TokenHeader carries Actions.Token.
	TokenHeader = "X-Mesh-Dashboard-Token"
)

// The modes of Actions, as /api/ipc/dashboard reports them.
const (
	ModeDisabled = "disabled"
	ModeLoopback = "loopback"
	ModeToken    = "token"
)

// Actions says whether the dashboard's actions (re-drive, purge, cancel a
// schedule) are allowed, and to whom. The zero value refuses them all.
type Actions struct {
	// Enabled allows actions. Default: false, every action is refused.
	Enabled bool
	// Token, if set, must be sent in TokenHeader with every action, which is
	// then accepted from any address. Default: "", actions are accepted
	// only from loopback clients addressing the bridge by a loopback host.
	Token string
}

// Mode is ModeDisabled, ModeLoopback or ModeToken.
func (a Actions) Mode() string {
	switch {
	case !a.Enabled:
		return ModeDisabled
	case a.Token != "":
		return ModeToken
	default:
		return ModeLoopback
	}
}

// check returns nil if r may act, else the reason it may not.
func (a Actions) check(r *http.Request) error {
	if !a.Enabled {
		return errors.New("dashboard: actions are disabled: start meshctl serve with --dashboard-actions to allow them")
	}
	if r.Header.Get(ActionHeader) != "1" {
		return errors.New("dashboard: an action must send the header " + ActionHeader + ": 1 (the dashboard's page does)")
	}
	if a.Token != "" {
		got := r.Header.Get(TokenHeader)
		if got == "" {
			return errors.New("dashboard: this bridge's actions need its --dashboard-token in the header " + TokenHeader + " (the page reads it from #token=... in its URL)")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			return errors.New("dashboard: wrong dashboard token")
		}
		return nil
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !loopbackHost(host) {
		return errors.New("dashboard: actions are accepted from loopback clients only; from " + r.RemoteAddr +
			", start meshctl serve with --dashboard-token and send it in " + TokenHeader)
	}
	if !loopbackHost(hostOnly(r.Host)) {
		return errors.New("dashboard: without --dashboard-token, actions must address the bridge by a loopback host (127.0.0.1, [::1] or localhost), not " + r.Host)
	}
	return nil
}

// hostOnly is the host of a Host header, without its port and brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// loopbackHost reports whether host is "localhost" or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard wraps an action's handler: it answers 403 with the reason unless
// d's Actions allow r.
func (d *Dashboard) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := d.cfg.Actions.check(r); err != nil {
			writeError(w, http.StatusForbidden, err)
			return
		}
		next(w, r)
	}
}
