package outbound

import (
	"sync"

	"github.com/nats-io/nuid"
)

// ids makes event and instance ids: NUIDs of a generator of the mesh's
// own, not the global one that nats.go names inboxes with, so that the
// ids a worker sends say nothing of its inbox names (which other services
// could then guess: NUIDs count).
var ids = struct {
	sync.Mutex
	n *nuid.NUID
}{n: nuid.New()}

// NewID returns a new unique id. It is safe for concurrent use.
func NewID() string {
	ids.Lock()
	defer ids.Unlock()
	return ids.n.Next()
}
