package robusttest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// quiet drops the workers' logs: the tests assert what they report through
// hooks, and a flood of bad events would drown the test output.
var quiet = slog.New(slog.DiscardHandler)

// plain is the configuration of a worker that stays quiet.
var plain = mesh.Config{Logger: quiet}

// streams is the configuration of a quiet worker whose namespace has
// streams.
var streams = mesh.Config{Logger: quiet, Stream: mesh.StreamConfig{Manage: true}}

// withStreams returns cfg with streams' logger and stream settings.
func withStreams(cfg mesh.Config) mesh.Config {
	cfg.Logger, cfg.Stream = streams.Logger, streams.Stream
	return cfg
}

// errorSink collects what a worker reports through Config.OnError.
type errorSink struct {
	mu      sync.Mutex
	errs    []error
	changed chan struct{} // closed and replaced on every new error
}

func newErrorSink() *errorSink { return &errorSink{changed: make(chan struct{})} }

func (s *errorSink) report(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *errorSink) all() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// waitFor waits until an error satisfying match is reported and returns it;
// it fails the test after timeout.
func (s *errorSink) waitFor(t testing.TB, timeout time.Duration, what string, match func(error) bool) error {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		errs := append([]error(nil), s.errs...)
		next := s.changed
		s.mu.Unlock()
		for _, err := range errs {
			if match(err) {
				return err
			}
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("no error reported %s within %s; %d reported: %v", what, timeout, len(errs), errs)
			return nil
		}
	}
}

// waitUntil checks cond every few milliseconds until it holds, and fails the
// test with what (and the last state describe gives, if any) after timeout.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			state := ""
			if len(describe) > 0 {
				state = "; " + describe[0]()
			}
			t.Fatalf("%s: not so within %s%s", what, timeout, state)
		}
		<-tick.C
	}
}

// within runs f in a goroutine and fails the test if it has not returned
// after timeout. It returns f's error.
func within(t testing.TB, timeout time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		t.Fatalf("%s did not return within %s", what, timeout)
		return nil
	}
}

// rawConn connects a plain nats.go client, as a foreign sender would, and
// closes it at the end of the test.
func rawConn(t testing.TB, srv *testutil.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.URL(), nats.Name("foreign"))
	if err != nil {
		t.Fatalf("connect raw client: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// cloudEvent returns a valid structured-mode CloudEvent as a foreign client
// writes it.
func cloudEvent(t testing.TB, id, source, typ string, data any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              id,
		"source":          source,
		"type":            typ,
		"datacontenttype": "application/json",
		"data":            data,
	})
	if err != nil {
		t.Fatalf("marshal event: %v", err)
	}
	return b
}

// hpub sends n messages with the raw header line header and payload on
// subject over a bare TCP connection speaking the NATS protocol, for
// headers that nats.go refuses to send, and waits for the server's PONG.
func hpub(t testing.TB, srv *testutil.Server, subject, header string, payload []byte, n int) {
	t.Helper()
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatalf("server URL: %v", err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", u.Host, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testutil.DefaultWait))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("expected INFO, got %q, %v", line, err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprint(w, "CONNECT {\"headers\":true,\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n")
	hdr := "NATS/1.0\r\n" + header + "\r\n\r\n"
	for range n {
		fmt.Fprintf(w, "HPUB %s %d %d\r\n%s%s\r\n", subject, len(hdr), len(hdr)+len(payload), hdr, payload)
	}
	fmt.Fprint(w, "PING\r\n")
	if err := w.Flush(); err != nil {
		t.Fatalf("write: %v", err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for PONG: %v", err)
		}
		switch {
		case strings.HasPrefix(line, "PONG"):
			return
		case strings.HasPrefix(line, "-ERR"):
			t.Fatalf("server refused the raw messages: %s", strings.TrimSpace(line))
		case strings.HasPrefix(line, "PING"):
			fmt.Fprint(w, "PONG\r\n")
			_ = w.Flush()
		}
	}
}

// consumerInfo returns the info of durable consumer name on the
// namespace's event stream.
func consumerInfo(t testing.TB, w *mesh.Worker, name string) *jetstream.ConsumerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := w.JetStream().Consumer(ctx, subjects.EventStream(w.Namespace()), name)
	if err != nil {
		t.Fatalf("consumer %s: %v", name, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("consumer %s info: %v", name, err)
	}
	return info
}

// onlyConsumer returns the name of the one durable consumer of the
// worker's namespace whose name starts with the worker's service.
func onlyConsumer(t testing.TB, w *mesh.Worker) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := w.JetStream().Stream(ctx, subjects.EventStream(w.Namespace()))
	if err != nil {
		t.Fatalf("event stream: %v", err)
	}
	var names []string
	lister := stream.ConsumerNames(ctx)
	for name := range lister.Name() {
		if strings.HasPrefix(name, w.Service()) {
			names = append(names, name)
		}
	}
	if err := lister.Err(); err != nil {
		t.Fatalf("list consumers: %v", err)
	}
	if len(names) != 1 {
		t.Fatalf("want one consumer of %s, found %q", w.Service(), names)
	}
	return names[0]
}

// counter is a handler that counts its calls.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) HandleEvent(context.Context, *mesh.Event) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
