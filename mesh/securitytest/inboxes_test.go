package securitytest

// Attacks on the inbox model. Services answer on the shared inbox and on
// every service's private inbox, three tokens deep (_INBOX.*.*,
// _INBOX_<service>.*.*). nats.go names a connection's inboxes (pull
// subscriptions, batch inboxes, the request mux prefix) with nuid.Next(),
// a NUID: 12 random characters and a sequence that grows by a constant
// increment (33..333), so whoever learns a few of a worker's NUIDs can
// compute its inbox subjects. These tests learn the NUIDs of a victim's
// event ids (which before this round came from the same generator; they
// now come from the mesh's own) and attack the inboxes so computed: a
// forged status message or delivery on a pull inbox, forged answers on a
// batch inbox. Each must be refused by the permissions, whatever the
// guess.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
)

const nuidDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// splitNUID returns the prefix and sequence of a NUID.
func splitNUID(t *testing.T, id string) (string, int64) {
	t.Helper()
	if len(id) != 22 {
		t.Fatalf("not a NUID: %q", id)
	}
	var seq int64
	for _, c := range id[12:] {
		seq = seq*62 + int64(strings.IndexRune(nuidDigits, c))
	}
	return id[:12], seq
}

func joinNUID(prefix string, seq int64) string {
	var b [10]byte
	for i := 9; i >= 0; i-- {
		b[i] = nuidDigits[seq%62]
		seq /= 62
	}
	return prefix + string(b[:])
}

// nuidIncrements returns the increments the difference of two consecutive ids'
// sequences allows.
func nuidIncrements(d int64) []int64 {
	var out []int64
	for m := int64(1); m <= 8; m++ {
		if d%m == 0 && d/m >= 33 && d/m < 333 {
			out = append(out, d/m)
		}
	}
	return out
}

// inboxCandidates returns the NUIDs k increments from seq, k in [from, to].
func inboxCandidates(prefix string, seq int64, incs []int64, from, to int) []string {
	var out []string
	for _, inc := range incs {
		for k := from; k <= to; k++ {
			out = append(out, joinNUID(prefix, seq+int64(k)*inc))
		}
	}
	return out
}

// learnIDs has victim emit two events to the attacker's service and
// returns what the attacker learns of the victim's NUID generator.
func learnIDs(ctx context.Context, t *testing.T, victim, attacker *mesh.Worker) (string, int64, []int64) {
	t.Helper()
	rec := testutil.NewRecorder()
	if _, err := attacker.On(ctx, "probe:id", rec); err != nil {
		t.Fatal(err)
	}
	// Two ids of one NUID prefix: the prefix rolls over rarely, so a
	// third probe always pairs with one of the first two.
	for range 3 {
		if err := victim.Emit(ctx, "probe:id", nil, mesh.To(attacker.Service())); err != nil {
			t.Fatal(err)
		}
	}
	evs := rec.WaitN(t, 3, 0)
	if p0, _ := splitNUID(t, evs[0].ID); p0 != func() string { p, _ := splitNUID(t, evs[1].ID); return p }() {
		evs = evs[1:]
	}
	p1, s1 := splitNUID(t, evs[0].ID)
	p2, s2 := splitNUID(t, evs[1].ID)
	if p1 != p2 {
		t.Fatalf("the NUID prefix rolled over twice in three ids: %s %s %s", evs[0].ID, evs[1].ID, evs[2].ID)
	}
	if s2 < s1 {
		s1, s2 = s2, s1
	}
	incs := nuidIncrements(s2 - s1)
	t.Logf("victim ids %s %s: prefix %s, increments %v", evs[0].ID, evs[1].ID, p1, incs)
	return p1, s1, incs
}

// TestForgedStatusOnAnothersInboxIsRefused: a service predicts another's durable
// pull inbox from its event ids and sends it a forged "409 Consumer
// Deleted" status: the victim's NATS client stops consuming.
func TestForgedStatusOnAnothersInboxIsRefused(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testutil.DefaultWait)
	defer cancel()
	reports := make(chan error, 64)
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	he := m.connect(t, herald, herald, mesh.Config{OnError: func(err error) {
		select {
		case reports <- err:
		default:
		}
	}})
	queued := testutil.NewRecorder()
	if _, err := he.OnDurable(ctx, "notification:queued", queued); err != nil {
		t.Fatal(err)
	}
	prefix, seq, incs := learnIDs(ctx, t, he, tl)

	nc, err := nats.Connect(m.URL(), m.credentials(timeline)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	inbox := subjects.InboxPrefix(herald) + "."
	status := nats.Header{"Status": {"409"}, "Description": {"Consumer Deleted"}}
	// Backwards: the pull inbox was named before the probes.
	for _, c := range inboxCandidates(prefix, seq, incs, -400, -1) {
		if err := nc.PublishMsg(&nats.Msg{Subject: inbox + c, Header: status}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if errors.Is(nc.LastError(), nats.ErrPermissionViolation) {
		t.Logf("REFUSED: forged status on herald's inbox: %v", nc.LastError())
		return
	}
	deadline := time.After(3 * time.Second)
	for {
		select {
		case err := <-reports:
			if strings.Contains(err.Error(), "stopped consuming") {
				t.Errorf("BREACH: timeline stopped herald's durable handler with a forged status on a predicted inbox: %v", err)
				return
			}
		case <-deadline:
			t.Log("REFUSED: herald kept consuming")
			return
		}
	}
}

// TestForgedDeliveryOnAnothersInboxIsRefused: a service predicts another's
// durable pull inbox and delivers it a forged event whose reply subject is
// the acknowledgement subject of a real event of the victim that is
// waiting for its retry: the victim's handler succeeds on the forged event
// and its +ACK removes the real one, which is never handled.
func TestForgedDeliveryOnAnothersInboxIsRefused(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testutil.DefaultWait)
	defer cancel()
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	he := m.connect(t, herald, herald, mesh.Config{})
	au := m.connect(t, auth, auth, mesh.Config{})
	var mu sync.Mutex
	seen := map[string]int{}
	firstFailed := make(chan uint64, 1)
	handled := make(chan string, 16)
	if _, err := he.OnDurable(ctx, "notification:queued", mesh.HandlerFunc(func(_ context.Context, ev *mesh.Event) error {
		mu.Lock()
		seen[ev.ID]++
		n := seen[ev.ID]
		mu.Unlock()
		if ev.ID == "real-event" && n == 1 {
			select {
			case firstFailed <- ev.StreamSequence:
			default:
			}
			return errors.New("transient failure, retry me")
		}
		handled <- ev.ID
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	prefix, seq, incs := learnIDs(ctx, t, he, tl)

	// A third service's event to herald, which fails once and waits 1 s
	// for its retry (DefaultBackoff).
	if err := au.Emit(ctx, "notification:queued", map[string]string{"n": "1"}, mesh.To(herald), mesh.WithID("real-event")); err != nil {
		t.Fatal(err)
	}
	var sseq uint64
	select {
	case sseq = <-firstFailed:
	case <-ctx.Done():
		t.Fatal("the real event never reached herald")
	}
	// The attacker learns the sequence from STREAM.INFO (allowed to all).
	nc, err := nats.Connect(m.URL(), m.credentials(timeline)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	resp, err := nc.Request("$JS.API.STREAM.INFO."+subjects.EventStream("ipc"), nil, testutil.DefaultWait)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		State struct {
			LastSeq uint64 `json:"last_seq"`
		} `json:"state"`
	}
	_ = json.Unmarshal(resp.Data, &info)
	t.Logf("real event at stream seq %d (STREAM.INFO last_seq %d)", sseq, info.State.LastSeq)
	sseq = info.State.LastSeq

	forged := []byte(`{"specversion":"1.0","id":"forged-event","source":"exprsn-auth","type":"notification:queued","time":"2026-01-01T00:00:00Z","datacontenttype":"application/json","data":{}}`)
	ack := fmt.Sprintf("$JS.ACK.%s.%s.1.%d.%d.%d.0", subjects.EventStream("ipc"), heraldQueued, sseq, sseq, time.Now().UnixNano())
	inbox := subjects.InboxPrefix(herald) + "."
	for _, c := range inboxCandidates(prefix, seq, incs, -400, -1) {
		if err := nc.PublishMsg(&nats.Msg{Subject: inbox + c, Reply: ack, Data: forged}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if errors.Is(nc.LastError(), nats.ErrPermissionViolation) {
		t.Logf("REFUSED: %v", nc.LastError())
		return
	}
	// The real event's retry is due after 1 s; wait well past it.
	forgedSeen, realSeen := false, false
	deadline := time.After(8 * time.Second)
wait:
	for {
		select {
		case id := <-handled:
			switch id {
			case "forged-event":
				forgedSeen = true
			case "real-event":
				realSeen = true
				break wait
			}
		case <-deadline:
			break wait
		}
	}
	t.Logf("forged delivery handled: %v, real event retried: %v", forgedSeen, realSeen)
	if forgedSeen {
		t.Errorf("BREACH: herald's durable handler ran a delivery forged by timeline on a predicted inbox")
	}
	if !realSeen {
		t.Errorf("BREACH: herald's real event (stream seq %d) was acknowledged by the forged delivery and never retried", sseq)
	}
}

// TestForgedBatchAnswerIsRefused: a service predicts the inbox of another's
// EmitBatch (named with nuid right after the batch's event ids) and
// answers the batch on the victim's private inbox: its forged answer
// decides EmitBatch's outcome. (A forged success is bounded by the events
// sent, which a fast batch stores as they come, so the test forges a
// refusal: EmitBatch then reports the attacker's error.)
func TestForgedBatchAnswerIsRefused(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 6*testutil.DefaultWait)
	defer cancel()
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	sp := m.connect(t, spark, spark, mesh.Config{})
	prefix, seq, incs := learnIDs(ctx, t, sp, tl)

	const n = 20000 // many batch windows (4*500): the victim reads answers as it goes
	nc, err := nats.Connect(m.URL(), m.credentials(timeline)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The batch's n ids come next, then its inbox.
	cands := inboxCandidates(prefix, seq, incs, n-20, n+40)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if os.Getenv("SECURITYTEST_NO_ATTACK") != "" {
			return
		}
		forged := []byte(`{"type":"err","seq":1,"error":{"code":503,"err_code":10999,"description":"probe forged refusal"}}`)
		for !stop.Load() {
			for _, c := range cands {
				_ = nc.Publish(subjects.InboxPrefix(spark)+"."+c+".x.500.fail.1.0.$FI", forged)
			}
			_ = nc.Flush()
		}
	}()
	events := make([]mesh.BatchEvent, n)
	for i := range events {
		events[i] = mesh.BatchEvent{Event: "probe:batch", Data: map[string]int{"i": i}, Options: []mesh.BatchEventOption{mesh.To(timeline)}}
	}
	time.Sleep(200 * time.Millisecond)
	bctx, bcancel := context.WithTimeout(ctx, 20*time.Second) // unattacked, it takes ~3 s (SECURITYTEST_NO_ATTACK=1)
	defer bcancel()
	receipts, err := sp.EmitBatch(bctx, events)
	stop.Store(true)
	wg.Wait()
	if errors.Is(nc.LastError(), nats.ErrPermissionViolation) {
		t.Logf("REFUSED: %v", nc.LastError())
		return
	}
	t.Logf("EmitBatch: %d receipts, err %v", len(receipts), err)
	if err != nil {
		t.Errorf("BREACH: timeline's forged answers on spark's predicted private batch inbox made spark's EmitBatch fail: %v", err)
	}
}

// TestOddPermissionInputs: odd names and patterns in the spec must not
// yield broader permissions.
func TestOddPermissionInputs(t *testing.T) {
	for _, name := range []string{"*", ">", "a.b", "a b", "a*", "a>", "", "_INBOX", "$JS", "a\tb", "mesh-operator"} {
		u, err := permissions.ForServices("ipc", permissions.Service{Name: name})
		if err == nil {
			t.Logf("service name %q accepted: %v", name, u[0].Permissions)
			for _, s := range append(u[0].Permissions.Publish, u[0].Permissions.Subscribe...) {
				if strings.Contains(s, "*."+name) || strings.ContainsAny(name, "*> .\t") {
					t.Errorf("BREACH: service name %q accepted, gives %q", name, s)
					break
				}
			}
		}
	}
	for _, p := range []string{">", "*", "a.>", "a:>", "x y", "a.b", ""} {
		if _, err := permissions.ForService("ipc", permissions.Service{Name: "svc", OncePerService: []string{p}}); err == nil {
			t.Logf("OncePerService %q accepted", p)
		}
		if u, err := permissions.ForService("ipc", permissions.Service{Name: "svc", Durable: []string{p}}); err == nil {
			t.Logf("Durable %q accepted: %v", p, u.Publish[len(u.Publish)-4:])
		}
		if u, err := permissions.ForService("ipc", permissions.Service{Name: "svc", Edge: []permissions.Feed{{Event: p}}}); err == nil {
			t.Logf("Edge feed %q accepted: %v", p, u.Publish)
		}
	}
	for _, target := range []string{"*", ">", "all", "exprsn-herald", "a.b"} {
		if u, err := permissions.ForService("ipc", permissions.Service{Name: "svc", Edge: []permissions.Feed{{Target: target, Event: "x"}}}); err == nil {
			t.Logf("Edge target %q accepted: %v", target, u.Publish)
		}
	}
}
