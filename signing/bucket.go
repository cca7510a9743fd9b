package signing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// BucketName is the key-value bucket in which the operator of namespace ns
// publishes the services' public keys: "MESH_<ns>_keys", one key per
// service name, whose value is as StaticKeys takes it. Its stream is
// "KV_MESH_<ns>_keys", without direct gets and roll-ups
// (streams.KeyValue).
func BucketName(ns string) string { return "MESH_" + ns + "_keys" }

// ReaderSubjects are the subjects a service publishes to when it reads the
// keys of namespace ns with BucketKeys, to grant in its NATS permissions
// (besides its reply inbox, which every worker has):
//
//	$JS.API.STREAM.INFO.KV_MESH_<ns>_keys      BucketKeys opens the bucket
//	$JS.API.STREAM.MSG.GET.KV_MESH_<ns>_keys   a key's lookup, and its history
//
// The message get cannot be confined to a key: a reader may read every
// message of the bucket, which holds public keys only. It answers in JSON,
// so that a reader who names another key as the reply subject gets no
// valid entry written there (a direct get would copy the entry, and the
// bucket allows none). A reader creates no consumer and watches nothing.
func ReaderSubjects(ns string) []string {
	b := BucketName(ns)
	return []string{
		"$JS.API.STREAM.INFO.KV_" + b,
		"$JS.API.STREAM.MSG.GET.KV_" + b,
	}
}

// PublisherSubjects are the subjects the operator publishes to when it
// calls PublishKeys in namespace ns, to grant in its NATS permissions:
//
//	$JS.API.STREAM.INFO.KV_MESH_<ns>_keys     opening the bucket
//	$JS.API.STREAM.CREATE.KV_MESH_<ns>_keys   creating it, the first time
//	$JS.API.STREAM.UPDATE.KV_MESH_<ns>_keys   turning off direct gets and roll-ups of a bucket made before
//	$KV.MESH_<ns>_keys.*                      writing and deleting keys
func PublisherSubjects(ns string) []string {
	b := BucketName(ns)
	return []string{
		"$JS.API.STREAM.INFO.KV_" + b,
		"$JS.API.STREAM.CREATE.KV_" + b,
		"$JS.API.STREAM.UPDATE.KV_" + b,
		"$KV." + b + ".*",
	}
}

// PublishOption changes how PublishKeys creates the bucket.
type PublishOption func(*jetstream.KeyValueConfig)

// Replicas is the number of copies of the bucket in a cluster, set when
// PublishKeys creates it. Default: 1.
func Replicas(n int) PublishOption {
	return func(c *jetstream.KeyValueConfig) { c.Replicas = n }
}

// publishHistory is how many values of each key the bucket keeps, so that
// an operator can see past keys.
const publishHistory = 5

// PublishKeys publishes, for the operator, the public keys of services in
// namespace ns's bucket (BucketName), creating the bucket if it does not
// exist: keys maps a service name to its public NKey, or several
// separated by commas (see StaticKeys), or to "" to withdraw the service's
// keys. Services not in keys keep theirs. Every value is checked before
// anything is written. An existing bucket keeps its configuration, but
// for direct gets and roll-ups, which are turned off (BucketKeys refuses
// a bucket that allows direct gets). Readers see a change once their
// cache expires (see CacheTTL).
func PublishKeys(ctx context.Context, js jetstream.JetStream, ns string, keys map[string]string, opts ...PublishOption) error {
	if err := subjects.ValidateNamespace(ns); err != nil {
		return fmt.Errorf("signing: publish keys: %w", err)
	}
	for service, value := range keys {
		if err := subjects.ValidateService(service); err != nil {
			return fmt.Errorf("signing: publish keys: %w", err)
		}
		if _, err := parseKeys(value); value != "" && err != nil {
			return fmt.Errorf("signing: publish keys of %q: %w", service, err)
		}
	}
	kv, err := openOrCreate(ctx, js, ns, opts)
	if err != nil {
		return err
	}
	for service, value := range keys {
		if value == "" {
			err = kv.Delete(ctx, service)
		} else {
			_, err = kv.PutString(ctx, service, value)
		}
		if err != nil {
			return fmt.Errorf("signing: publish the keys of %q in %s: %w", service, BucketName(ns), err)
		}
	}
	return nil
}

// openOrCreate opens namespace ns's bucket, creating its stream with opts
// if it does not exist, and turning off direct gets and roll-ups if it
// allows them.
func openOrCreate(ctx context.Context, js jetstream.JetStream, ns string, opts []PublishOption) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{Bucket: BucketName(ns), History: publishHistory,
		Description: "public NKeys of the services of namespace " + ns + " (package signing)"}
	for _, o := range opts {
		o(&cfg)
	}
	sc := streams.KeyValue(cfg)
	s, err := js.Stream(ctx, sc.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = js.CreateStream(ctx, sc)
	case err == nil && (s.CachedInfo().Config.AllowDirect || s.CachedInfo().Config.AllowRollup):
		c := s.CachedInfo().Config
		c.AllowDirect, c.AllowRollup = false, false
		_, err = js.UpdateStream(ctx, c)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: open bucket %s: %w", BucketName(ns), err)
	}
	kv, err := js.KeyValue(ctx, BucketName(ns))
	if err != nil {
		return nil, fmt.Errorf("signing: open bucket %s: %w", BucketName(ns), err)
	}
	return kv, nil
}

// DefaultCacheTTL is how long a Bucket keeps what it read of a service.
const DefaultCacheTTL = time.Minute

// MaxCached bounds the services a Bucket remembers, known and unknown, so
// that events claiming ever new sources cannot grow it.
const MaxCached = 1024

// BucketOption changes a Bucket.
type BucketOption func(*Bucket)

// CacheTTL is how long a Bucket keeps a service's keys, or that it has
// none, before it reads them again: a key published, changed or withdrawn
// takes effect in readers within it. Default (and for d <= 0):
// DefaultCacheTTL.
func CacheTTL(d time.Duration) BucketOption {
	return func(b *Bucket) {
		if d > 0 {
			b.ttl = d
		}
	}
}

// Logger is where a Bucket reports the entries it rejects (see Bucket), at
// warning level. Default (and for nil): slog.Default().
func Logger(l *slog.Logger) BucketOption {
	return func(b *Bucket) {
		if l != nil {
			b.log = l
		}
	}
}

// Bucket is the KeySet the operator publishes in the namespace's bucket
// (see PublishKeys), as a service reads it: a service's keys are read with
// one message get of the bucket's stream on first use and cached for
// CacheTTL, and so is the absence of keys, for at most MaxCached
// services. It never watches the bucket (that needs a consumer, which
// services may not create): see ReaderSubjects for its permissions. It is
// safe for concurrent use.
//
// It takes only what the operator wrote: an entry stored under the
// service's key, without headers, that is one to MaxKeysPerService valid
// public NKeys, or the operator's withdrawal (a delete marker). Any client
// of the account can make the server write its answers onto a key of the
// bucket by naming the key as the reply subject of a request: a JSON
// acknowledgement or API answer, a status message (a Status header, no
// body), another stream's direct-get answer (Nats-Stream, Nats-Subject
// and Nats-Sequence headers). Such an entry is rejected and logged (see
// Logger); the Bucket then takes the latest entry of the operator in the
// key's history (PublishKeys keeps 5 per key), and when none is left,
// Keys fails with an error matching ErrRejectedEntry, which a verifier
// treats as "cannot tell now": the event is not accepted.
type Bucket struct {
	msgs messages // the bucket's stream
	name string   // the bucket's name
	ttl  time.Duration
	log  *slog.Logger

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	keys    []string
	err     error // what Keys returns: nil, or not published, or not valid
	expires time.Time
}

// BucketKeys opens namespace ns's bucket for reading, with one look-up of
// its stream, and returns its KeySet. It fails when the bucket does not
// exist: the operator creates it with PublishKeys.
func BucketKeys(ctx context.Context, js jetstream.JetStream, ns string, opts ...BucketOption) (*Bucket, error) {
	if err := subjects.ValidateNamespace(ns); err != nil {
		return nil, fmt.Errorf("signing: bucket keys: %w", err)
	}
	name := BucketName(ns)
	s, err := js.Stream(ctx, "KV_"+name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		err = jetstream.ErrBucketNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("signing: open bucket %s (does the operator publish keys with signing.PublishKeys?): %w", name, err)
	}
	if s.CachedInfo().Config.AllowDirect {
		return nil, fmt.Errorf("signing: bucket %s allows direct gets, which would let any key reader copy a service's entry under another's name: the operator turns them off by publishing the keys again (signing.PublishKeys, docs/security.md)", name)
	}
	b := &Bucket{msgs: s, name: name, ttl: DefaultCacheTTL, log: slog.Default(), cache: make(map[string]cached)}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// Keys returns the keys published for service, from the cache or the
// bucket; an error matching ErrUnknownSigner when none are; an error
// matching ErrRejectedEntry when the bucket holds for service no entry
// that the operator wrote (cached too); or the bucket's error when it
// cannot be read (not cached).
func (b *Bucket) Keys(ctx context.Context, service string) ([]string, error) {
	if err := subjects.ValidateService(service); err != nil {
		return nil, unknownSigner(cut(service))
	}
	b.mu.Lock()
	c, ok := b.cache[service]
	b.mu.Unlock()
	if ok && time.Now().Before(c.expires) {
		return c.keys, c.err
	}
	c, err := b.read(ctx, service)
	if err != nil {
		return nil, err
	}
	b.remember(service, c)
	return c.keys, c.err
}

// remember caches c, making room first: expired entries go, then, if the
// cache is still full, an arbitrary one.
func (b *Bucket) remember(service string, c cached) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.cache[service]; !ok && len(b.cache) >= MaxCached {
		now := time.Now()
		for s, old := range b.cache {
			if now.After(old.expires) {
				delete(b.cache, s)
			}
		}
		for s := range b.cache {
			if len(b.cache) < MaxCached {
				break
			}
			delete(b.cache, s)
		}
	}
	b.cache[service] = c
}
