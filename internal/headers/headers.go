// Package headers sizes, cuts and copies NATS message headers as nats.go
// and JetStream take them, so that what the mesh publishes from what
// others sent is always publishable and storable.
package headers

import (
	"net/textproto"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
)

// MaxStreamHeader is the largest header block JetStream stores.
const MaxStreamHeader = 1<<16 - 1

// WireSize is the size of h on the wire, counted as nats.go counts it
// against max_payload: the "NATS/1.0" line, each value trimmed as
// "key: value" with its line end, and the blank line; 0 without headers.
func WireSize(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += lineSize(k, v)
		}
	}
	return n
}

func lineSize(k, v string) int { return len(k) + len(textproto.TrimString(v)) + len(": \r\n") }

// ValidKey reports whether nats.go publishes a header with key k:
// printable ASCII without separators (RFC 7230 tokens).
func ValidKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c > '~' || strings.IndexByte("\"()/,:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// Copy copies to dst the headers of src that can be published and stored
// again, in key order, as long as they fit in budget bytes on the wire,
// and reports whether all of the event's were copied. Never copied are
// JetStream's own headers (Nats-*, which would steer the store: expected
// sequences, rollups, message ids) and dead-letter headers (Mesh-Dlq-*),
// which a dead letter sets itself; keys nats.go refuses, and values with
// line breaks, which it would rewrite, are left out.
func Copy(dst, src nats.Header, budget int) bool {
	all := true
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "nats-") || strings.HasPrefix(lower, "mesh-dlq-") {
			continue // not the event's; never copied
		}
		if !ValidKey(k) {
			all = false
			continue
		}
		for _, v := range src[k] {
			size := lineSize(k, v)
			if size > budget || strings.ContainsAny(v, "\r\n") {
				// Too large, or a value nats.go would rewrite (line
				// breaks become spaces): left out, not changed.
				all = false
				continue
			}
			budget -= size
			dst[k] = append(dst[k], v)
		}
	}
	return all
}

// Truncate cuts s to at most n bytes, at a UTF-8 boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Names lists the keys of h, sorted, the Status header with its value
// ("Status 404"), for a report of a message that should have had none:
// at most 16 names of at most 64 bytes each, then "..." for the rest.
func Names(h nats.Header) []string {
	const maxNames, maxName = 16, 64
	names := make([]string, 0, min(len(h), maxNames+1))
	for k := range h {
		if k == "Status" {
			k += " " + h.Get(k)
		}
		names = append(names, Truncate(k, maxName))
	}
	slices.Sort(names)
	if len(names) > maxNames {
		names = append(names[:maxNames], "...")
	}
	return names
}
