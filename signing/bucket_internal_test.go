package signing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// fakeStream is a bucket's stream of msgs, in sequence order, whose reads
// fail with err and are counted. GetMsg filters on the subject of the
// last GetLastMsgForSubject, as Bucket reads a key's history.
type fakeStream struct {
	msgs []*jetstream.RawStreamMsg
	err  error
	gets atomic.Int64

	mu      sync.Mutex
	subject string
}

func (f *fakeStream) GetLastMsgForSubject(_ context.Context, subject string) (*jetstream.RawStreamMsg, error) {
	f.gets.Add(1)
	f.mu.Lock()
	f.subject = subject
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	for _, m := range slices.Backward(f.msgs) {
		if m.Subject == subject {
			return m, nil
		}
	}
	return nil, jetstream.ErrMsgNotFound
}

func (f *fakeStream) GetMsg(_ context.Context, seq uint64, _ ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	f.gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.msgs {
		if m.Sequence >= seq && m.Subject == f.subject {
			return m, nil
		}
	}
	return nil, jetstream.ErrMsgNotFound
}

func newBucket(s messages, log *slog.Logger) *Bucket {
	return &Bucket{msgs: s, name: "MESH_ipc_keys", ttl: time.Hour, log: log, cache: map[string]cached{}}
}

func TestBucketCacheIsBounded(t *testing.T) {
	s := &fakeStream{}
	b := newBucket(s, slog.Default())
	ctx := context.Background()
	for i := range 3 * MaxCached {
		if _, err := b.Keys(ctx, fmt.Sprintf("ghost-%d", i)); !errors.Is(err, ErrUnknownSigner) {
			t.Fatalf("Keys: %v, want ErrUnknownSigner", err)
		}
	}
	if n := len(b.cache); n > MaxCached {
		t.Fatalf("%d services cached, want at most %d", n, MaxCached)
	}
	before := s.gets.Load()
	for range 10 {
		_, _ = b.Keys(ctx, "ghost-new")
	}
	if n := s.gets.Load() - before; n != 1 {
		t.Fatalf("%d reads of a service looked up 10 times within the TTL, want 1", n)
	}
}

func TestBucketDoesNotCacheFailures(t *testing.T) {
	s := &fakeStream{err: context.DeadlineExceeded}
	b := newBucket(s, slog.Default())
	for range 3 {
		if _, err := b.Keys(context.Background(), "exprsn-auth"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnknownSigner) {
			t.Fatalf("Keys: %v, want the bucket's error", err)
		}
	}
	if n := s.gets.Load(); n != 3 {
		t.Fatalf("%d reads, want 3: a failed read is not cached", n)
	}
}

// TestBucketRejectsWhatTheOperatorDidNotWrite gives a Bucket the history
// of exprsn-auth's key with, on top, what other clients can make the
// server write there: it takes the operator's latest entry, reports the
// rejected one, and fails with ErrRejectedEntry when none is left.
func TestBucketRejectsWhatTheOperatorDidNotWrite(t *testing.T) {
	const key = "$KV.MESH_ipc_keys.exprsn-auth"
	genuine, evil := newKey(t), newKey(t)
	put := func(data string) *jetstream.RawStreamMsg {
		return &jetstream.RawStreamMsg{Subject: key, Data: []byte(data)}
	}
	withHeader := func(data string, kv ...string) *jetstream.RawStreamMsg {
		m := put(data)
		m.Header = nats.Header{}
		for i := 0; i < len(kv); i += 2 {
			m.Header.Add(kv[i], kv[i+1])
		}
		return m
	}
	var (
		ack        = put(`{"stream":"MESH_ipc","seq":7}`)
		status     = withHeader("", "Status", "404", "Description", "No Messages")
		directGet  = withHeader(evil, "Nats-Stream", "KV_MESH_ipc_keys", "Nats-Subject", "$KV.MESH_ipc_keys.exprsn-audit", "Nats-Sequence", "3")
		reflectDel = withHeader("", "KV-Operation", "DEL", "Nats-Stream", "KV_MESH_ipc_handled_exprsn-herald")
		elsewhere  = &jetstream.RawStreamMsg{Subject: "$KV.MESH_ipc_keys.exprsn-audit", Data: []byte(evil)}
		withdrawn  = withHeader("", "KV-Operation", "DEL")
		empty      = put("")
	)
	tests := []struct {
		name     string
		history  []*jetstream.RawStreamMsg
		want     []string
		wantErr  error
		rejected bool // a warning is logged
	}{
		{"the operator's entry", []*jetstream.RawStreamMsg{put(genuine)}, []string{genuine}, nil, false},
		{"an acknowledgement on top", []*jetstream.RawStreamMsg{put(evil), put(genuine), ack}, []string{genuine}, nil, true},
		{"a status message on top", []*jetstream.RawStreamMsg{put(genuine), status}, []string{genuine}, nil, true},
		{"an empty entry on top", []*jetstream.RawStreamMsg{put(genuine), empty}, []string{genuine}, nil, true},
		{"another key's direct-get answer on top", []*jetstream.RawStreamMsg{put(genuine), directGet}, []string{genuine}, nil, true},
		{"a reflected delete marker on top", []*jetstream.RawStreamMsg{put(genuine), reflectDel}, []string{genuine}, nil, true},
		{"another key's entry", []*jetstream.RawStreamMsg{put(genuine), elsewhere}, []string{genuine}, nil, false},
		{"junk after a withdrawal", []*jetstream.RawStreamMsg{put(genuine), withdrawn, ack}, nil, ErrUnknownSigner, true},
		{"a withdrawal", []*jetstream.RawStreamMsg{put(genuine), withdrawn}, nil, ErrUnknownSigner, false},
		{"nothing but junk", []*jetstream.RawStreamMsg{ack, status, directGet}, nil, ErrRejectedEntry, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeStream{}
			for i, m := range tt.history {
				c := *m
				c.Sequence = uint64(10 * (i + 1))
				s.msgs = append(s.msgs, &c)
			}
			var logged bytes.Buffer
			b := newBucket(s, slog.New(slog.NewTextHandler(&logged, nil)))
			got, err := b.Keys(context.Background(), "exprsn-auth")
			if !slices.Equal(got, tt.want) || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Keys = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if tt.wantErr == ErrRejectedEntry && errors.Is(err, ErrUnknownSigner) {
				t.Fatalf("Keys = %v: a bucket of junk is not \"no key published\"", err)
			}
			if warned := strings.Contains(logged.String(), "level=WARN") && strings.Contains(logged.String(), "exprsn-auth"); warned != tt.rejected {
				t.Fatalf("warning logged %t, want %t: %s", warned, tt.rejected, logged.String())
			}
		})
	}
}

func newKey(t *testing.T) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// An event signed with version 1's message (before the JSON byte) still
// verifies, unless its data is data_base64, which version 1 read as JSON.
func TestVersion1SignaturesVerify(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := kp.PublicKey()
	ev := &mesh.Event{Event: codec.Event{ID: "e1", Source: "exprsn-timeline", Type: "post:created", Data: []byte(`{"post":1}`)}}
	sig, err := kp.Sign(appendMessage(nil, "event", "all", key, &ev.Event, true))
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(ev, "event", "all", key, publicKey(key), sig) {
		t.Error("a version 1 signature of JSON data does not verify")
	}
	ev.DataBase64 = true
	if verifies(ev, "event", "all", key, publicKey(key), sig) {
		t.Error("a version 1 signature verifies the same bytes as data_base64")
	}
}
