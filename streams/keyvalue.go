package streams

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeyValue returns the configuration of the stream behind the key-value
// bucket cfg describes, as nats.go's jetstream.CreateKeyValue would make
// it ("KV_<bucket>" on "$KV.<bucket>.>", cfg's history, TTL, description,
// storage and replicas; the other KeyValueConfig fields are not used),
// except for two settings that keep what other clients of the account
// make the server write there from passing for the bucket's entries:
//
//   - no direct gets (AllowDirect false): a direct get answers with the
//     stored message, body and headers, to whatever reply subject the
//     request names, so any client allowed to direct-get an entry could
//     copy it under another key, of this or another bucket. Clients read
//     with the stream's message get ($JS.API.STREAM.MSG.GET.<stream>),
//     whose answer is JSON that wraps the message; jetstream.KeyValue
//     binds to the bucket and reads it so;
//   - no roll-ups (AllowRollup false): a message with a "Nats-Rollup: all"
//     header, wherever it comes from, cannot empty the bucket.
//     KeyValue.Purge, which rolls a key up, fails; Delete works.
//
// Create or update the stream with it (jetstream.CreateOrUpdateStream),
// then open the bucket with jetstream.KeyValue.
func KeyValue(cfg jetstream.KeyValueConfig) jetstream.StreamConfig {
	duplicates := 2 * time.Minute
	if cfg.TTL > 0 && cfg.TTL < duplicates {
		duplicates = cfg.TTL
	}
	return jetstream.StreamConfig{
		Name:              "KV_" + cfg.Bucket,
		Description:       cfg.Description,
		Subjects:          []string{"$KV." + cfg.Bucket + ".>"},
		MaxMsgsPerSubject: int64(max(cfg.History, 1)),
		MaxBytes:          orUnlimited(cfg.MaxBytes),
		MaxAge:            cfg.TTL,
		MaxMsgSize:        -1,
		MaxMsgs:           -1,
		MaxConsumers:      -1,
		Storage:           cfg.Storage,
		Replicas:          max(cfg.Replicas, 1),
		Duplicates:        duplicates,
		Discard:           jetstream.DiscardNew,
		DenyDelete:        true,
		AllowRollup:       false,
		AllowDirect:       false,
	}
}
