package streams

import (
	"strconv"
	"strings"
)

// Server versions that the streams' optional features need.
const (
	// VersionMsgTTL is the first nats-server with per-message TTLs
	// (StreamConfig.AllowMsgTTL, the Nats-TTL header).
	VersionMsgTTL = "2.11.0"
	// VersionSchedules is the first nats-server with message schedules at
	// a time (StreamConfig.AllowMsgSchedules, "@at").
	VersionSchedules = "2.12.0"
	// VersionRecurringSchedules is the first nats-server with recurring
	// schedules ("@every", cron expressions).
	VersionRecurringSchedules = "2.14.0"
	// VersionBatchPublish is the first nats-server with fast batch
	// publishing (StreamConfig.AllowBatchPublish), which mesh's EmitBatch
	// uses.
	VersionBatchPublish = "2.14.0"
)

// AtLeast reports whether the server version v ("2.12.1", "v2.14.0-beta")
// is want or later. A version that does not parse is not.
func AtLeast(v, want string) bool {
	have, ok := parseVersion(v)
	need, _ := parseVersion(want)
	if !ok {
		return false
	}
	for i := range have {
		if have[i] != need[i] {
			return have[i] > need[i]
		}
	}
	return true
}

func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}
