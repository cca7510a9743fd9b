package subjects

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxConsumerName bounds the names of durable consumers, derived or given
// (JetStream allows 255 bytes, and the name travels in API subjects and in
// the permissions that pin a service to its own consumers).
const MaxConsumerName = 200

// ConsumerName is the name of the durable consumer of service's handler for
// pattern, unless the handler names it: "<service>_<pattern>_<hash of
// pattern>", with ':' as '_', '*' as "STAR" and '>' as "ALL". When that is
// longer than MaxConsumerName, the readable part is cut and a longer hash
// covers the whole pattern, so distinct patterns keep distinct names.
func ConsumerName(service, pattern string) string {
	readable := service + "_" + strings.NewReplacer(":", "_", "*", "STAR", ">", "ALL").Replace(pattern)
	if len(readable)+9 <= MaxConsumerName {
		h := fnv.New32a()
		h.Write([]byte(pattern))
		return readable + "_" + strconv.FormatUint(uint64(h.Sum32()), 16)
	}
	h := fnv.New64a()
	h.Write([]byte(pattern))
	sum := strconv.FormatUint(h.Sum64(), 16)
	return readable[:MaxConsumerName-len(sum)-1] + "_" + sum
}

// ValidateConsumerName returns an error if name cannot name a durable
// consumer: it must have 1 to MaxConsumerName bytes, none of them '.', '*',
// '>', '/', '\' or whitespace.
func ValidateConsumerName(name string) error {
	if name == "" || len(name) > MaxConsumerName || strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("%w: consumer name %q: want 1 to %d characters without '.', '*', '>', '/', '\\\\' or whitespace", ErrInvalidName, name, MaxConsumerName)
	}
	return nil
}
