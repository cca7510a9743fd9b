package subjects

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// DuplicateKey returns the Nats-Msg-Id of the event (source, id): the
// key by which the event stream drops a retried publish of the same event
// within its duplicate window.
//
// CloudEvents makes only the pair (source, id) unique, so the key is
// derived from both: the unpadded base64url encoding of the first 16 bytes
// of the SHA-256 of the decimal byte length of source, a colon, source and
// id. The length prefix keeps ("a:b", "c") and ("a", "b:c") apart, and the
// hash keeps the header 22 bytes long whatever the sizes of source and id.
func DuplicateKey(source, id string) string {
	h := sha256.New()
	var n [20]byte
	h.Write(strconv.AppendInt(n[:0], int64(len(source)), 10))
	h.Write([]byte{':'})
	h.Write([]byte(source))
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}
