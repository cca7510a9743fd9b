package permissions

import "strings"

// kvPrefix starts the subjects of a JetStream key-value bucket's keys:
// "$KV.<bucket>.<key>".
const kvPrefix = "$KV."

// kvStream is the name of the stream that holds a key-value bucket.
func kvStream(bucket string) string { return "KV_" + bucket }

// jsAPI returns the JetStream API subject "$JS.API.<call>.<args...>".
func jsAPI(call string, args ...string) string {
	return "$JS.API." + strings.Join(append([]string{call}, args...), ".")
}

// ackSubjects returns the subjects on which the events of stream's
// consumer are acknowledged, in nats-server's current format
// ($JS.ACK.<stream>.<consumer>...) and in the one it is moving to
// ($JS.ACK.<domain>.<account hash>.<stream>.<consumer>...).
func ackSubjects(stream, consumer string) []string {
	return []string{"$JS.ACK." + stream + "." + consumer + ".>", "$JS.ACK.*.*." + stream + "." + consumer + ".>"}
}
