package subjects

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Names of the JetStream streams and bucket of namespace ns, and the
// subjects outside the namespace's events that the mesh uses.

// EventStream is the name of the stream that keeps namespace ns's events
// ("<ns>.>"): "MESH_<ns>".
func EventStream(ns string) string { return "MESH_" + ns }

// DeadLetterStream is the name of the stream that keeps namespace ns's dead
// letters: "MESH_<ns>_DLQ".
func DeadLetterStream(ns string) string { return "MESH_" + ns + "_DLQ" }

// IdempotencyBucket is the key-value bucket in which the idempotency guard
// of service in namespace ns records handled events:
// "MESH_<ns>_handled_<service>". Each service has its own, so that what one
// service does to its bucket (a roll-up, a purge) leaves the others' alone.
func IdempotencyBucket(ns, service string) string { return "MESH_" + ns + "_handled_" + service }

// StatsSubject is the subject on which every worker of namespace ns
// answers a request with its stats: "_mesh.<ns>.stats".
func StatsSubject(ns string) string { return "_mesh." + ns + ".stats" }

// DeadLetterPrefix is the first token of dead-letter subjects,
// "_dlq.<namespace>.<service>.<event tokens>". They lie outside the
// namespace's subjects so that no handler ever receives a dead letter.
const DeadLetterPrefix = "_dlq"

// maxDeadLetterTail bounds the event tokens of a dead letter's subject.
const maxDeadLetterTail = 512

// DeadLetterSubject is the subject of the dead letter that service writes
// for an event that travelled on subject in namespace ns:
// "_dlq.<ns>.<service>.<event tokens>". Event tokens longer than 512 bytes
// become "_long.<hash>", so that the subject stays well within the server's
// limits whatever the event's subject.
func DeadLetterSubject(ns, service, subject string) string {
	rest := strings.TrimPrefix(subject, ns+".")
	if _, after, ok := strings.Cut(rest, "."); ok {
		rest = after
	}
	if len(rest) > maxDeadLetterTail || rest == "" {
		sum := sha256.Sum256([]byte(rest))
		rest = "_long." + hex.EncodeToString(sum[:16])
	}
	return DeadLetterPrefix + "." + ns + "." + service + "." + rest
}

// DeadLetterFilter is the subject filter of the dead letters of service in
// namespace ns, or of every service when service is "".
func DeadLetterFilter(ns, service string) string {
	if service == "" {
		return DeadLetterPrefix + "." + ns + ".>"
	}
	return DeadLetterPrefix + "." + ns + "." + service + ".>"
}

// TargetOf returns the target token of subject, an event or request
// subject of namespace ns, or "" when subject is not one.
func TargetOf(subject, ns string) string {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(subject, RequestPrefix+"."), ns+".")
	if !ok {
		return ""
	}
	target, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return target
}

// InboxPrefix is the prefix of service's reply inboxes: "_INBOX_<service>".
// Workers use it unless mesh.Config.SharedInbox is set, and generated
// permissions let only the service subscribe to it, so that no other
// service reads its replies.
func InboxPrefix(service string) string { return "_INBOX_" + service }

// IsInbox reports whether subject is a reply inbox a responder may answer
// on: under the shared prefix "_INBOX." (nats.go's, nats.js's, the nats
// CLI's) or a private one, "_INBOX_<name>." (InboxPrefix; nats.go's
// CustomInboxPrefix with a name starting with "_INBOX_"), without
// wildcards. NATS does not check a request's reply subject against the
// requester's permissions, so a reply anywhere else (a stream's subject, a
// key-value bucket's key, another service's events) would write where the
// requester may not.
func IsInbox(subject string) bool {
	if strings.ContainsAny(subject, "*> \t\r\n") || strings.Contains(subject+".", "..") {
		return false
	}
	rest, ok := strings.CutPrefix(subject, "_INBOX")
	switch {
	case !ok:
		return false
	case strings.HasPrefix(rest, "."):
		return len(rest) > 1
	case strings.HasPrefix(rest, "_"):
		name, tail, ok := strings.Cut(rest[1:], ".")
		return ok && name != "" && tail != ""
	}
	return false
}

// PartitionKeyExtension is the CloudEvents extension whose value orders
// events for durable handlers with OrderedByKey.
const PartitionKeyExtension = "partitionkey"

// Headers the mesh sets besides the CloudEvents ones, JetStream's
// Nats-Msg-Id (see DuplicateKey) and nats.go micro's error headers
// (micro.ErrorHeader, micro.ErrorCodeHeader). Names are in the canonical
// form nats.go's Header.Set writes; readers match them case-insensitively.
const (
	// HeaderReplay marks an event re-delivered by replay, with the stream
	// sequence of the original.
	HeaderReplay = "Mesh-Replay"
	// HeaderRedrive marks an event re-driven from the dead-letter stream,
	// with the sequence of the dead letter.
	HeaderRedrive = "Mesh-Redrive"

	// The headers of a dead letter, besides the original's: why it failed
	// (at most 1 KiB), which service and durable handler failed it, after
	// how many deliveries, the subject and event-stream sequence of the
	// original, when, and what of the original it leaves out
	// (comma-separated "data" and "headers"; the original stays in the
	// event stream at its sequence).
	HeaderDeadLetterReason     = "Mesh-Dlq-Reason"
	HeaderDeadLetterService    = "Mesh-Dlq-Service"
	HeaderDeadLetterHandler    = "Mesh-Dlq-Handler"
	HeaderDeadLetterDeliveries = "Mesh-Dlq-Deliveries"
	HeaderDeadLetterSubject    = "Mesh-Dlq-Subject"
	HeaderDeadLetterSequence   = "Mesh-Dlq-Stream-Seq"
	HeaderDeadLetterTime       = "Mesh-Dlq-Time"
	HeaderDeadLetterOmitted    = "Mesh-Dlq-Omitted"
)
