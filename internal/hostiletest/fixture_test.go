package hostiletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/stretchr/testify/require"
)

// ns is the namespace of every worker here.
const ns = "ipc"

// pattern is what every target handler listens to: "hostile.<anything>".
const pattern = "hostile:>"

// maxDeliver is the durable handlers' MaxDeliver.
const maxDeliver = 2

// goodPrefix starts the id of every good event, which the targets must
// handle whatever hostile input came before it.
const goodPrefix = "good-"

// Dead-letter headers (docs/wire-protocol.md): where the original was in
// the event stream, and what of it the dead letter leaves out.
const (
	sequenceHeader = "Mesh-Dlq-Stream-Seq"
	omittedHeader  = "Mesh-Dlq-Omitted"
)

// The headers of an error answer (the NATS micro convention).
const (
	serviceErrorHeader     = "Nats-Service-Error"
	serviceErrorCodeHeader = "Nats-Service-Error-Code"
)

// quiet drops the workers' logs: a flood of bad input would drown the
// test output, and the tests read what the workers report through hooks.
var quiet = slog.New(slog.DiscardHandler)

// path is one way an event reaches a worker.
type path int

const (
	pathLive    path = iota // On
	pathRequest             // OnRequest
	pathDurable             // OnDurable
	pathGuarded             // OnDurable behind the idempotency guard
)

var allPaths = []path{pathLive, pathRequest, pathDurable, pathGuarded}

func (p path) String() string { return [...]string{"live", "request", "durable", "guarded"}[p] }

// service is the name of the path's target service; for the durable paths
// it is also the name of the handler's consumer.
func (p path) service() string { return "hostile-" + p.String() }

// env is one embedded server and what the test drives it with.
type env struct {
	srv    *testutil.Server
	nc     *nats.Conn // the test's own client: well-formed input, inspection
	js     jetstream.JetStream
	client *mesh.Worker // creates the streams; sends the good events and good requests
}

func newEnv(t testing.TB, opts ...testutil.ServerOption) *env {
	t.Helper()
	srv := testutil.StartServer(t, opts...)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	client := testutil.Connect(t, srv, "hostile-client", mesh.Config{Stream: mesh.StreamConfig{Manage: true}, Logger: quiet})
	return &env{srv: srv, nc: nc, js: js, client: client}
}

func (e *env) maxPayload() int { return int(e.nc.MaxPayload()) }

// target is a worker of one path's service with a handler that records
// what reaches it.
type target struct {
	path path
	w    *mesh.Worker
	sink *sink
	rec  *testutil.Recorder
}

func (e *env) target(t testing.TB, p path) *target {
	t.Helper()
	tg := &target{path: p, sink: &sink{}, rec: testutil.NewRecorder()}
	// The client created the streams; a target only uses them, as a
	// worker does by default. (A stream update at every connect, racing
	// another target's consumer creation, trips a data race inside
	// nats-server v2.15.3's file store under -race.)
	tg.w = testutil.Connect(t, e.srv, p.service(), mesh.Config{
		Logger:       quiet,
		OnError:      tg.sink.add,
		OnDisconnect: func(error) { tg.sink.disconnects.Add(1) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	err := register(ctx, tg.w, p, mesh.HandlerFunc(tg.handle), mesh.ResponderFunc(func(ctx context.Context, ev *mesh.Event) (any, error) {
		_ = tg.rec.HandleEvent(ctx, ev)
		return "pong", nil
	}))
	require.NoError(t, err)
	return tg
}

// handle records ev and fails it permanently when its data says "fail",
// which sends a durable event to the dead-letter stream at once.
func (tg *target) handle(ctx context.Context, ev *mesh.Event) error {
	_ = tg.rec.HandleEvent(ctx, ev)
	if bytes.HasPrefix(ev.Data, []byte(`"fail`)) {
		return mesh.Permanent(errors.New("hostiletest: this event fails on purpose"))
	}
	return nil
}

// subject is where in goes on the target's path.
func (tg *target) subject(in input) string {
	s := ns + "." + tg.path.service() + "." + in.suffix()
	if tg.path == pathRequest {
		s = "_rpc." + s
	}
	return s
}

// received returns the events with id that reached the handler.
func (tg *target) received(id string) []*mesh.Event {
	var out []*mesh.Event
	for _, ev := range tg.rec.Events() {
		if ev.ID == id {
			out = append(out, ev)
		}
	}
	return out
}

// waitReceived waits until an event with id reached the handler and
// returns it.
func (tg *target) waitReceived(t testing.TB, id, what string) *mesh.Event {
	t.Helper()
	eventually(t, what+" reached the "+tg.path.String()+" handler", func() (bool, string) {
		return len(tg.received(id)) > 0, tg.state()
	})
	return tg.received(id)[0]
}

// onlyGood fails the test if anything but a good event reached the
// handler.
func (tg *target) onlyGood(t *testing.T) {
	t.Helper()
	for _, ev := range tg.rec.Events() {
		if !strings.HasPrefix(ev.ID, goodPrefix) {
			t.Errorf("a message that is not a valid CloudEvent reached the %s handler as id %q type %q", tg.path, truncated(ev.ID), truncated(ev.Type))
		}
	}
}

// stillUp fails the test if the worker lost its connection at any time.
func (tg *target) stillUp(t testing.TB) {
	t.Helper()
	if !tg.w.Conn().IsConnected() {
		t.Errorf("the %s worker is not connected (status %v); errors reported: %s", tg.path, tg.w.Conn().Status(), tg.sink.describe())
	}
	if n := tg.sink.disconnects.Load(); n > 0 {
		t.Errorf("the %s worker lost its connection %d times; errors reported: %s", tg.path, n, tg.sink.describe())
	}
}

// reportedInvalid checks that the worker reported a message that is not a
// valid CloudEvent and counted it.
func (tg *target) reportedInvalid(t *testing.T) {
	t.Helper()
	eventually(t, "an error matching mesh.ErrInvalidMessage reported by the "+tg.path.String()+" worker, and Stats().Invalid > 0", func() (bool, string) {
		return tg.sink.find(isInvalid) != nil && tg.w.Stats().Invalid > 0, tg.state()
	})
}

// noInvalid checks that nothing was reported as invalid.
func (tg *target) noInvalid(t *testing.T) {
	t.Helper()
	if err := tg.sink.find(isInvalid); err != nil {
		t.Errorf("a valid event was reported invalid: %s", truncated(err.Error()))
	}
	if n := tg.w.Stats().Invalid; n > 0 {
		t.Errorf("Stats().Invalid = %d after a valid event", n)
	}
}

func isInvalid(err error) bool { return errors.Is(err, mesh.ErrInvalidMessage) }

func (tg *target) state() string {
	s := tg.w.Stats()
	return fmt.Sprintf("handler received %d events; stats: received %d, handled %d, failed %d, invalid %d, durable %+v; connected %v; errors reported: %s",
		tg.rec.Len(), s.Received, s.Handled, s.Failed, s.Invalid, s.Durable, tg.w.Conn().IsConnected(), tg.sink.describe())
}

// good sends a good event (a good request on the request path) to the
// target and waits until its handler has it.
func (e *env) good(t testing.TB, tg *target) {
	t.Helper()
	// A random id: a hostile publisher (or the fuzzer) cannot have sent
	// it first, which would make the guard skip the good event.
	id := goodPrefix + nuid.Next()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if tg.path == pathRequest {
		rev, err := e.client.Request(ctx, tg.path.service(), "hostile:good", "ping", mesh.WithID(id))
		require.NoError(t, err, "a good request sent after the hostile input got no reply; %s", tg.state())
		require.Equal(t, `"pong"`, string(rev.Data))
	} else {
		require.NoError(t, e.client.Emit(ctx, "hostile:good", "good", mesh.To(tg.path.service()), mesh.WithID(id)))
	}
	tg.waitReceived(t, id, "the good event "+id+" sent after the hostile input")
}

// consumer returns the info of a durable target's consumer.
func (e *env) consumer(tg *target) (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := e.js.Consumer(ctx, eventStream(), tg.path.service())
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// idle waits until a durable target's consumer has delivered everything
// and holds no event unacknowledged, so that no event keeps a
// MaxAckPending slot.
func (e *env) idle(t testing.TB, tg *target) {
	t.Helper()
	eventually(t, "consumer "+tg.path.service()+" with NumPending 0 and NumAckPending 0", func() (bool, string) {
		info, err := e.consumer(tg)
		if err != nil {
			return false, err.Error()
		}
		return info.NumPending == 0 && info.NumAckPending == 0, describeConsumer(info) + "; " + tg.state()
	})
}

func describeConsumer(info *jetstream.ConsumerInfo) string {
	return fmt.Sprintf("consumer: num_pending %d, num_ack_pending %d, num_redelivered %d, delivered stream seq %d, ack floor stream seq %d",
		info.NumPending, info.NumAckPending, info.NumRedelivered, info.Delivered.Stream, info.AckFloor.Stream)
}

// deadLetter returns the target's dead letter of the event at stream
// sequence seq, or nil.
func (e *env) deadLetter(tg *target, seq uint64) (*deadLetter, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	letters, err := listDeadLetters(ctx, e.js, tg.path.service())
	for i := range letters {
		if letters[i].StreamSequence == seq {
			return &letters[i], nil
		}
	}
	return nil, err
}

// settled waits until the event at seq has left the target's consumer:
// dead-lettered, or terminated with a report naming its stream sequence.
// It returns the dead letter, nil if there is none.
func (e *env) settled(t *testing.T, tg *target, seq uint64) *deadLetter {
	t.Helper()
	var dl *deadLetter
	eventually(t, fmt.Sprintf("the event at stream sequence %d dead-lettered (or terminated with a report naming that sequence) and consumer %s holding nothing", seq, tg.path.service()),
		func() (bool, string) {
			info, err := e.consumer(tg)
			if err != nil {
				return false, err.Error()
			}
			if dl, err = e.deadLetter(tg, seq); err != nil {
				return false, "list dead letters: " + err.Error()
			}
			reported := tg.sink.find(namesSequence(seq)) != nil
			done := info.NumAckPending == 0 && info.Delivered.Stream >= seq && (dl != nil || reported)
			return done, fmt.Sprintf("dead letter found: %v; %s; %s", dl != nil, describeConsumer(info), tg.state())
		})
	if dl == nil {
		t.Logf("the event at stream sequence %d was terminated without a dead letter: %s", seq, truncated(tg.sink.find(namesSequence(seq)).Error()))
		return nil
	}
	// An event the handler never sees (the NATS client takes it for a
	// status message) is dead-lettered at the consumer's delivery limit,
	// MaxDeliver plus the 4 deliveries the worker keeps for storing a dead
	// letter; any other by its MaxDeliver-th.
	if limit := uint64(maxDeliver + 4); dl.Deliveries < 1 || dl.Deliveries > limit {
		t.Errorf("dead letter of stream sequence %d after %d deliveries; want 1 to the consumer's limit (%d)", seq, dl.Deliveries, limit)
	}
	return dl
}

// checkDeadLetter checks that the dead letter kept what it did not say it
// omitted: the body unchanged, and the original's headers.
func (e *env) checkDeadLetter(t *testing.T, dl *deadLetter, in input) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, deadLetterStream())
	require.NoError(t, err)
	raw, err := s.GetMsg(ctx, dl.Sequence)
	require.NoError(t, err)
	if got := raw.Header.Get(sequenceHeader); got != strconv.FormatUint(dl.StreamSequence, 10) {
		t.Errorf("dead letter header %s = %q; want %d", sequenceHeader, got, dl.StreamSequence)
	}
	omitted := strings.ToLower(raw.Header.Get(omittedHeader))
	if !strings.Contains(omitted, "data") && !strings.Contains(omitted, "body") && !bytes.Equal(raw.Data, in.Body) {
		t.Errorf("the dead letter's body (%d bytes) differs from the original (%d bytes) and %s does not say it was omitted (%q)",
			len(raw.Data), len(in.Body), omittedHeader, omitted)
	}
	if strings.Contains(omitted, "header") {
		return
	}
	for k, vs := range in.header() {
		// JetStream's own headers (Nats-*) are never copied: they would
		// steer the dead letter's store, and are not the event's.
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		if got := raw.Header.Values(k); !slicesEqual(got, vs) {
			t.Errorf("the dead letter changed header %q from %q to %q, and %s does not say it omitted headers (%q)",
				truncated(k), truncated(strings.Join(vs, ", ")), truncated(strings.Join(got, ", ")), omittedHeader, omitted)
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.TrimSpace(a[i]) != strings.TrimSpace(b[i]) {
			return false
		}
	}
	return true
}

// namesSequence matches an error that names stream sequence seq.
func namesSequence(seq uint64) func(error) bool {
	re := regexp.MustCompile(`(?i)seq[a-z]*\W{1,4}` + strconv.FormatUint(seq, 10) + `\b`)
	return func(err error) bool { return re.MatchString(err.Error()) }
}

// sink collects what a worker reports through Config.OnError and
// OnDisconnect.
type sink struct {
	mu          sync.Mutex
	errs        []error
	disconnects atomic.Int32
}

func (s *sink) add(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 10000 {
		s.errs = append(s.errs, err)
	}
}

// find returns the first error reported that matches.
func (s *sink) find(match func(error) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		if match(err) {
			return err
		}
	}
	return nil
}

// describe summarizes the errors reported, for a failure message: how
// many, and the first few distinct ones.
func (s *sink) describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return "none"
	}
	const distinct, long = 4, 400
	b := strings.Builder{}
	b.WriteString(strconv.Itoa(len(s.errs)))
	seen := map[string]bool{}
	for _, err := range s.errs {
		msg := err.Error()
		if len(msg) > long {
			msg = msg[:long] + "...(" + strconv.Itoa(len(msg)) + " bytes)"
		}
		if seen[msg] {
			continue
		}
		if len(seen) == distinct {
			b.WriteString("\n\t...")
			break
		}
		seen[msg] = true
		b.WriteString("\n\t" + strconv.Quote(msg))
	}
	return b.String()
}

// eventually waits until cond holds, checking at once and then every 1ms,
// 2ms, 4ms... up to every 20ms, and fails the test with cond's last
// description if it does not hold within patience (testutil.DefaultWait).
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		if ok, _ := cond(); ok {
			return
		}
		select {
		case <-deadline.C:
			if ok, last := cond(); !ok {
				t.Fatalf("not within %s: %s\nlast state: %s", patience, what, last)
			}
			return
		case <-time.After(pause):
		}
	}
}

// remoteError returns the error an answer carries in the NATS micro
// headers, as a mesh requester would see it, or nil for a reply.
func remoteError(h nats.Header) *mesh.RemoteError {
	msg, code := h.Get(serviceErrorHeader), h.Get(serviceErrorCodeHeader)
	if msg == "" && code == "" {
		return nil
	}
	n, _ := strconv.Atoi(code)
	return &mesh.RemoteError{Code: n, Message: msg}
}
