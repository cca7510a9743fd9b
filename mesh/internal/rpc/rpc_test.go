package rpc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReplyTo(t *testing.T) {
	const request, event = "_rpc.ipc.auth.session.validate", "ipc.auth.session.validate"
	for _, tc := range []struct {
		subject, reply, want string
		fails                bool
	}{
		{subject: request, reply: "_INBOX.abc", want: "_INBOX.abc"},
		{subject: request, reply: ""},
		{subject: event, reply: "$JS.ACK.x"}, // the stream's acknowledgement, not a request
		{subject: request, reply: "_INBOX_exprsn-spark.abc.1", want: "_INBOX_exprsn-spark.abc.1"},
		{subject: request, reply: strings.Repeat("x", maxReplySubject+1), fails: true},
		// Anywhere but an inbox, the answer would write where the
		// requester may not: a bucket's key, a stream's subject.
		{subject: request, reply: "$KV.MESH_ipc_keys.exprsn-auth", fails: true},
		{subject: request, reply: "_dlq.ipc.exprsn-herald.x", fails: true},
		{subject: request, reply: "ipc.exprsn-herald.x", fails: true},
		{subject: request, reply: "_INBOX.*", fails: true},
		{subject: request, reply: "_INBOX_.x", fails: true},
	} {
		got, err := ReplyTo(tc.subject, tc.reply)
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("ReplyTo(%q, %d bytes) = %q, %v; want %q, failing %v", tc.subject, len(tc.reply), got, err, tc.want, tc.fails)
		}
	}
}

func TestErrorReplyRoundTrip(t *testing.T) {
	msg := ErrorReply("_INBOX.abc", 42, "line one\nline two\x00\xff"+strings.Repeat("é", 600), 1024)
	if msg.Subject != "_INBOX.abc" {
		t.Fatalf("subject %q", msg.Subject)
	}
	code, message, ok := Failure(msg.Header, 1024)
	if !ok || code != 500 {
		t.Fatalf("Failure = %d, ok %v; want 500 (a code outside 100..999), ok", code, ok)
	}
	if !strings.HasPrefix(message, "line one line two \uFFFD") || strings.ContainsAny(message, "\n\x00") {
		t.Fatalf("message not cleaned: %q", message[:40])
	}
	if len(message) > 1024 || !utf8.ValidString(message) {
		t.Fatalf("message of %d bytes, valid UTF-8 %v: want at most 1024, valid", len(message), utf8.ValidString(message))
	}
	if _, _, ok := Failure(nil, 1024); ok {
		t.Fatal("a reply without the error headers carries an error")
	}
}
