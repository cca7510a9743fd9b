// Package rpc is request and reply on the wire, on both sides: which
// messages a responder answers, and error replies in nats.go micro's
// convention (the headers Nats-Service-Error and Nats-Service-Error-Code),
// their code and message made fit for a header when sent and when read.
package rpc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// maxReplySubject bounds the reply subjects of requests a worker answers.
// A reply subject is the requester's inbox (about 50 bytes from nats.go);
// answering a much longer one could make the worker's publish exceed the
// server's control line limit, which closes the connection.
const maxReplySubject = 1024

// ReplyTo returns the subject to answer a message on subject with reply
// subject reply on: reply for a request, "" for anything else (an event
// stored by the stream has a reply subject too, for the stream's
// acknowledgement to its publisher). It fails on a reply subject too long
// to answer, and on one that is not an inbox (subjects.IsInbox): the
// answer would land where the requester may not publish.
func ReplyTo(subject, reply string) (string, error) {
	if reply == "" || !subjects.IsRequest(subject) {
		return "", nil
	}
	if len(reply) > maxReplySubject {
		return "", fmt.Errorf("a reply subject of %d bytes (at most %d are answered)", len(reply), maxReplySubject)
	}
	if !subjects.IsInbox(reply) {
		return "", fmt.Errorf("reply subject %q is not an inbox (_INBOX.> or _INBOX_<name>.>)", reply)
	}
	return reply, nil
}

// ErrorReply returns the message that answers a request on reply with an
// error, its code and message sanitized (see Sanitize).
func ErrorReply(reply string, code int, message string, maxLen int) *nats.Msg {
	code, message = Sanitize(code, message, maxLen)
	msg := &nats.Msg{Subject: reply, Header: nats.Header{}}
	msg.Header.Set(micro.ErrorHeader, message)
	msg.Header.Set(micro.ErrorCodeHeader, strconv.Itoa(code))
	return msg
}

// Failure returns the code and message of a reply with headers h that
// carries an error, sanitized; ok is false for a reply that carries none.
func Failure(h nats.Header, maxLen int) (code int, message string, ok bool) {
	message = h.Get(micro.ErrorHeader)
	if message == "" && h.Get(micro.ErrorCodeHeader) == "" {
		return 0, "", false
	}
	code, _ = strconv.Atoi(h.Get(micro.ErrorCodeHeader))
	code, message = Sanitize(code, message, maxLen)
	return code, message, true
}

// Sanitize makes a remote error's code and message fit for a header, on
// both sides of a request: a code outside 100..999 becomes 500, invalid
// UTF-8 becomes U+FFFD, line breaks and other control characters become
// spaces, and the message is cut to maxLen bytes, at a UTF-8 boundary.
func Sanitize(code int, message string, maxLen int) (int, string) {
	if code < 100 || code > 999 {
		code = 500
	}
	if len(message) > 4*maxLen {
		message = message[:4*maxLen] // enough to fill the limit after cleaning
	}
	message = strings.ToValidUTF8(message, "\uFFFD")
	message = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, message)
	return code, headers.Truncate(message, maxLen)
}
