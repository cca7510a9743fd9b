package store

import (
	"context"
	"errors"
	"testing"
	"time"

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
