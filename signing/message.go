package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"github.com/exprsn/ipcmesh/codec"
)

// The extension attributes a signed event carries.
const (
	// ExtSignature holds the Ed25519 signature of the event's signed
	// message (see the package doc), unpadded base64url: SignatureLen
	// characters.
	ExtSignature = "meshsig"
	// ExtKey holds the signer's public NKey, "U..." or "A...": KeyLen
	// characters.
	ExtKey = "meshsigkey"
)

// Exact lengths of the extension values; any other length is refused
// before it is decoded.
const (
	SignatureLen = 86 // base64url of 64 bytes, without padding
	KeyLen       = 56 // a public NKey
)

// messageTag starts every signed message: the format and its version.
// Verifiers also accept version 1 (messageTagV1: no JSON byte) for data
// that is not data_base64, which both versions read alike, so that events
// signed before version 2 (stored, retried, replayed, re-driven) still
// verify.
const (
	messageTag   = "ipcmesh-sig-v2"
	messageTagV1 = "ipcmesh-sig-v1"
)

// timeLayout writes an event's time in the signed message: RFC 3339 in
// UTC with exactly nine fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// The kinds of signed events, as mesh.SendKind.String names them.
const (
	kindEvent   = "event"
	kindRequest = "request"
	kindReply   = "reply"
)

// appendMessage appends the message that a signature of ev covers: the
// tag, then kind, signer key, id, source, type, time, datacontenttype,
// dataschema, subject and target, each as a 4-byte big-endian length and
// its bytes, then whether the data is JSON (one byte, 1 or 0), then the
// 32-byte SHA-256 of the canonical data.
// With v1, it appends version 1's message: messageTagV1, and no JSON byte.
func appendMessage(dst []byte, kind, target, key string, ev *codec.Event, v1 bool) []byte {
	if v1 {
		dst = append(dst, messageTagV1...)
	} else {
		dst = append(dst, messageTag...)
	}
	var tb [len(timeLayout)]byte
	var t []byte
	if !ev.Time.IsZero() {
		t = ev.Time.UTC().AppendFormat(tb[:0], timeLayout)
	}
	for _, f := range [...]string{kind, key, ev.ID, ev.Source, ev.Type, string(t), ev.DataContentType, ev.DataSchema, ev.Subject, target} {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(f)))
		dst = append(dst, f...)
	}
	if !v1 {
		dst = append(dst, 0)
		if ev.DataIsJSON() {
			dst[len(dst)-1] = 1
		}
	}
	sum := sha256.Sum256(canonicalData(ev))
	return append(dst, sum[:]...)
}

// canonicalData is ev's data as both ends of the wire see it: JSON data
// (codec.Event.DataIsJSON) without surrounding whitespace, and JSON null
// as no data, since the structured encoder trims the one and the decoder
// drops the other; binary data as it is.
func canonicalData(ev *codec.Event) []byte {
	if !ev.DataIsJSON() {
		return ev.Data
	}
	d := bytes.Trim(ev.Data, " \t\r\n")
	if string(d) == "null" {
		return nil
	}
	return d
}

// maxPooledMessage bounds the message buffers kept for reuse.
const maxPooledMessage = 16 << 10

var messagePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// withMessage calls fn with the signed message of ev (of version 1 with
// v1) in a pooled buffer, which fn must not keep.
func withMessage(kind, target, key string, ev *codec.Event, v1 bool, fn func(msg []byte)) {
	bp := messagePool.Get().(*[]byte)
	*bp = appendMessage((*bp)[:0], kind, target, key, ev, v1)
	fn(*bp)
	if cap(*bp) <= maxPooledMessage {
		messagePool.Put(bp)
	}
}
