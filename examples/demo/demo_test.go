package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
)

// TestRun plays the demo and checks that its trace shows every flow.
func TestRun(t *testing.T) {
	trace := runDemo(t, false)
	if hasLine(trace, leastPrivilege) {
		t.Errorf("without -auth, the trace says %q", leastPrivilege)
	}
	checkTrace(t, trace)
}

// TestRunWithCredentials plays the demo with -auth, each service as its
// least-privilege user: every flow plays as without.
func TestRunWithCredentials(t *testing.T) {
	trace := runDemo(t, true)
	if !hasLine(trace, leastPrivilege) {
		t.Errorf("no line with %q in the trace:\n%s", leastPrivilege, trace)
	}
	checkTrace(t, trace)
}

// leastPrivilege is what the demo says when it runs with -auth.
var leastPrivilege = []string{"each worker runs as its service's least-privilege user", "mesh-operator set up"}

// runDemo runs the demo and returns its trace.
func runDemo(t *testing.T, withAuth bool) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{auth: withAuth, http: "127.0.0.1:0"}); err != nil {
		t.Fatalf("run: %v\n%s", err, &out)
	}
	return out.String()
}

// checkTrace checks that trace shows every flow of the demo.
func checkTrace(t *testing.T, trace string) {
	t.Helper()
	for _, tt := range []struct {
		name string
		line []string // words one line must contain, in order
	}{
		{"dashboard", []string{"mesh demo:", "workers", "dashboard on http://127.0.0.1:"}},
		{"login broadcast", []string{"auth", "-> all", "user:login"}},
		{"presence", []string{"spark", "handled", "user:login"}},
		{"herald once per service", []string{"herald#", "handled", "user:login"}},
		{"post broadcast", []string{"timeline", "-> all", "post:created"}},
		{"live feed", []string{"timeline", "feed", "p1"}},
		{"live push", []string{"spark", "pushed live", "p1"}},
		{"submission", []string{"timeline", "-> moderator", "content:submitted"}},
		{"trigger", []string{"moderator", "-> herald", "notification:trigger"}},
		{"delivery", []string{"herald", "-> timeline", "notification:delivered"}},
		{"end of chain", []string{"timeline", "handled", "notification:delivered"}},
		{"reply", []string{"spark", "<- auth reply", "profile:get", `"name":"Ana"`}},
		{"not found", []string{"spark", "<- auth error", "profile:get", "404"}},
		{"no responders", []string{"spark", "<- nobody", "no responders"}},
		{"batch", []string{"moderator", "handled", "content:batch"}},
		{"bulk notifications", []string{"moderator", "-> herald", "notification:bulk", `"contentId":"p3"`}},
		{"bulk delivered", []string{"herald#", "delivered", "notification:bulk", "p"}},
		{"HTTP", []string{"http", "POST /posts", "201", `"post":{"id":`}},
		{"herald offline", []string{"herald", "offline", "both instances closed"}},
		{"triggers kept", []string{"herald", "offline", "notification:trigger", "3 wait in the stream"}},
		{"catch-up", []string{"herald#3", "handled", "notification:trigger"}},
		{"caught up in order, once", []string{"herald#3", "caught up", "notification:trigger", "p6, p7, p8"}},
		{"second instance", []string{"herald#4", "joined"}},
		{"permanent failure", []string{"moderator", "failed", "content:submitted", "permanent: moderator: no text"}},
		{"dead-lettered", []string{"dlq", "<- moderator", "content:submitted", "no text to moderate"}},
		{"dead letter listed", []string{"dlq", "listed #", "content:submitted", "deliveries 1", "was ipc.exprsn-moderator.content.submitted"}},
		{"re-driven", []string{"timeline", "-> moderator", "content:submitted", "re-driven:", `"id":"p9"`}},
		{"re-driven chain", []string{"herald", "-> timeline", "notification:delivered", `"contentId":"p9"`}},
		{"no dead letter left", []string{"dlq", "left", "0 dead letters of moderator"}},
		{"stats", []string{"herald#4", "emitted", "received", "handled", "failed", "acked", "dead-lettered"}},
		{"durable stats", []string{"moderator", "acked", "dead-lettered 1"}},
		{"nudging herald", []string{"herald#5", "joined", "nudges"}},
		{"reply", []string{"timeline", "-> all", "post:replied", `"postId":"p11"`}},
		{"nudge scheduled", []string{"herald", "pending", "notification:trigger", "nudge/p10 to herald at"}},
		{"nudge fired, with its time", []string{"herald", "-> herald", "notification:trigger", "scheduledtime 20", `"contentId":"p10"`}},
		{"nudge delivered", []string{"herald", "-> timeline", "notification:delivered", "nobody has repli"}},
		{"nudged at its time", []string{"herald", "nudged", "notification:trigger", "ana about p10", "s after the post"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !hasLine(trace, tt.line) {
				t.Errorf("no line with %q in the trace:\n%s", tt.line, trace)
			}
		})
	}
	if hasLine(trace, []string{"pending", "nudge/p11"}) || hasLine(trace, []string{"scheduledtime", `"contentId":"p11"`}) {
		t.Errorf("the nudge of p11 was not cancelled:\n%s", trace)
	}
	if n := strings.Count(trace, "handled        user:login"); n != 2 {
		t.Errorf("user:login handled %d times, want 2 (spark, and herald once for its two instances)", n)
	}
}

// hasLine reports whether a line of text contains the words in order.
func hasLine(text string, words []string) bool {
	for line := range strings.Lines(text) {
		if containsInOrder(line, words) {
			return true
		}
	}
	return false
}

func containsInOrder(s string, words []string) bool {
	for _, w := range words {
		var ok bool
		if _, s, ok = strings.Cut(s, w); !ok {
			return false
		}
	}
	return true
}

// TestDashboardShowsTheDemo: with -stay, the bridge's dashboard stays up
// after the scenes, and its stats show the demo's services and traffic.
func TestDashboardShowsTheDemo(t *testing.T) {
	var out testutil.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, options{http: "127.0.0.1:0", stay: true}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	var url string
	testutil.WaitUntil(t, "the demo waiting with its dashboard up", func() bool {
		line, ok := strings.CutPrefix(lastLine(out.String()), "the dashboard stays up on ")
		url, _, _ = strings.Cut(line, "/ until")
		return ok
	})
	resp, err := http.Get(url + "/api/ipc/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var report struct {
		Services map[string]struct{ Emitted, Handled uint64 }
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	if s := report.Services["exprsn-timeline"]; s.Emitted == 0 || s.Handled == 0 {
		t.Fatalf("the dashboard's stats show timeline %+v; services %v", s, report.Services)
	}
	page, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = page.Body.Close()
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET / answered %s", page.Status)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
