package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestAwaitBoundsWhatAnswersClaim: answers that are not the server's
// (not JSON, an unknown type) are skipped, and counts past the messages
// sent, forged or garbled, claim no more than were sent.
func TestAwaitBoundsWhatAnswersClaim(t *testing.T) {
	unconfirmed := errors.New("unconfirmed")
	b := &batch{msgs: make([]*nats.Msg, 3), sent: 3, window: 10, unconfirmed: unconfirmed}
	replies := make(chan *nats.Msg, 8)
	send := func(data string) {
		replies <- &nats.Msg{Subject: "_INBOX.x.id.500.fail.3.2.$FI", Data: []byte(data)}
	}
	ctx := context.Background()
	await := func() (BatchResult, bool) {
		t.Helper()
		res, done, err := b.await(ctx, replies)
		if err != nil {
			t.Fatal(err)
		}
		return res, done
	}

	send("not json")
	send(`{"type":"future"}`)
	if _, done := await(); done {
		t.Fatal("an unknown answer ended the batch")
	}
	send(`{"type":"ack","seq":100,"msgs":1}`)
	await()
	if b.acked != 3 {
		t.Fatalf("acked %d of 3 sent", b.acked)
	}
	send(`{"stream":"S","seq":7,"batch":"id","count":100}`)
	res, done := await()
	if !done || b.stored != 3 || res.Sequence != 7 || res.Stream != "S" {
		t.Fatalf("done %t, stored %d, result %+v; want the batch ended with 3 stored at 7 in S", done, b.stored, res)
	}

	// With no answer, the wait ends with the context: what was
	// acknowledged is stored, the rest unconfirmed.
	b = &batch{msgs: make([]*nats.Msg, 3), sent: 3, acked: 2, window: 10, unconfirmed: unconfirmed}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := b.await(short, replies); !errors.Is(err, unconfirmed) || b.stored != 2 {
		t.Fatalf("stored %d, err %v; want 2 and unconfirmed", b.stored, err)
	}
}

func TestReplySeq(t *testing.T) {
	for subject, want := range map[string]int{
		"_INBOX_svc.abc.batch.500.fail.12.1.$FI": 12,
		"_INBOX.x.y.500.fail.1.0.$FI":            1,
		"garbage":                                0,
		"":                                       0,
		".$FI":                                   0,
	} {
		if got := replySeq(subject); got != want {
			t.Errorf("replySeq(%q) = %d, want %d", subject, got, want)
		}
	}
}

// FuzzBatchAnswers: whatever arrives on a batch's inbox, in any order,
// nothing panics and no count exceeds the messages sent. The batch's
// pings go to a real server.
func FuzzBatchAnswers(f *testing.F) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		f.Fatal(err)
	}
	srv.Start()
	f.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		f.Fatal("the server did not start")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(nc.Close)
	f.Add("_INBOX.x.id.500.fail.2.1.$FI", []byte(`{"type":"ack","seq":2,"msgs":500}`), []byte(`{"stream":"S","seq":9,"batch":"id","count":3}`))
	f.Add("_INBOX.x.id.500.fail.1.0.$FI", []byte(`{"error":{"code":400,"err_code":10071,"description":"x"}}`), []byte(`{"type":"gap","seq":4,"last_seq":3}`))
	f.Add("", []byte(`{"type":"err","seq":-1}`), []byte(`{"count":-5}`))
	f.Add("_INBOX.x.id.500.fail.3.1.$FI", []byte(`{"error":{"code":400}}`), []byte(`{"batch":"id","count":2}`))
	f.Fuzz(func(t *testing.T, subject string, first, second []byte) {
		const sent = 3
		msgs := []*nats.Msg{{Subject: "fuzz.a"}, {Subject: "fuzz.b"}, {Subject: "fuzz.c"}}
		b := &batch{nc: nc, msgs: msgs, sent: sent, window: 10, prefix: "_INBOX.fuzz.", unconfirmed: errors.New("unconfirmed")}
		replies := make(chan *nats.Msg, 2)
		replies <- &nats.Msg{Subject: subject, Data: first}
		replies <- &nats.Msg{Subject: subject, Data: second}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		for range 2 {
			_, done, err := b.await(ctx, replies)
			if b.stored < 0 || b.stored > sent || b.acked > sent {
				t.Fatalf("stored %d, acked %d of %d sent", b.stored, b.acked, sent)
			}
			if done || err != nil {
				return
			}
		}
	})
}
