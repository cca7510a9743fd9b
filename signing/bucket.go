package signing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// BucketName is the key-value bucket in which the operator of namespace ns
// publishes the services' public keys: "MESH_<ns>_keys", one key per
// service name, whose value is as StaticKeys takes it. Its stream is
// "KV_MESH_<ns>_keys".
func BucketName(ns string) string { return "MESH_" + ns + "_keys" }

// ReaderSubjects are the subjects a service publishes to when it reads the
// keys of namespace ns with BucketKeys, to grant in its NATS permissions
// (besides its reply inbox, which every worker has):
//
//	$JS.API.STREAM.INFO.KV_MESH_<ns>_keys                        BucketKeys opens the bucket
//	$JS.API.DIRECT.GET.KV_MESH_<ns>_keys.$KV.MESH_<ns>_keys.*    a key's lookup
//
// A reader creates no consumer and watches nothing.
func ReaderSubjects(ns string) []string {
	b := BucketName(ns)
	return []string{
		"$JS.API.STREAM.INFO.KV_" + b,
		"$JS.API.DIRECT.GET.KV_" + b + ".$KV." + b + ".*",
	}
}

// PublisherSubjects are the subjects the operator publishes to when it
// calls PublishKeys in namespace ns, to grant in its NATS permissions
// (package permissions' operator has the first already):
//
//	$JS.API.INFO                            creating the bucket reads the account's limits
//	$JS.API.STREAM.INFO.KV_MESH_<ns>_keys   opening it
//	$JS.API.STREAM.CREATE.KV_MESH_<ns>_keys creating it, the first time
//	$KV.MESH_<ns>_keys.*                    writing and deleting keys
func PublisherSubjects(ns string) []string {
	b := BucketName(ns)
	return []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO.KV_" + b,
		"$JS.API.STREAM.CREATE.KV_" + b,
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
// exist (an existing bucket's configuration is left alone): keys maps a
// service name to its public NKey, or several separated by commas (see
// StaticKeys), or to "" to withdraw the service's keys. Services not in
// keys keep theirs. Every value is checked before anything is written.
// Readers see a change once their cache expires (see CacheTTL).
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

func openOrCreate(ctx context.Context, js jetstream.JetStream, ns string, opts []PublishOption) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, BucketName(ns))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		cfg := jetstream.KeyValueConfig{Bucket: BucketName(ns), History: publishHistory,
			Description: "public NKeys of the services of namespace " + ns + " (package signing)"}
		for _, o := range opts {
			o(&cfg)
		}
		kv, err = js.CreateKeyValue(ctx, cfg)
	}
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

// Bucket is the KeySet the operator publishes in the namespace's bucket
// (see PublishKeys), as a service reads it: a service's keys are read with
// one direct get on first use and cached for CacheTTL, and so is the
// absence of keys, for at most MaxCached services. It never watches the
// bucket (that needs a consumer, which services may not create): see
// ReaderSubjects for its permissions. It is safe for concurrent use.
type Bucket struct {
	kv  jetstream.KeyValue
	ttl time.Duration

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
	kv, err := js.KeyValue(ctx, BucketName(ns))
	if err != nil {
		return nil, fmt.Errorf("signing: open bucket %s (does the operator publish keys with signing.PublishKeys?): %w", BucketName(ns), err)
	}
	b := &Bucket{kv: kv, ttl: DefaultCacheTTL, cache: make(map[string]cached)}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// Keys returns the keys published for service, from the cache or the
// bucket; an error matching ErrUnknownSigner when none are; an error saying
// so when the published value is not valid (cached too); or the bucket's
// error when it cannot be read (not cached).
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

// read reads service's keys from the bucket.
func (b *Bucket) read(ctx context.Context, service string) (cached, error) {
	c := cached{expires: time.Now().Add(b.ttl)}
	e, err := b.kv.Get(ctx, service)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		c.err = unknownSigner(service)
	case err != nil:
		return c, fmt.Errorf("read %s: %w", b.kv.Bucket(), err)
	default:
		if c.keys, err = parseKeys(string(e.Value())); err != nil {
			c.err = fmt.Errorf("the keys published for %q in %s: %w", service, b.kv.Bucket(), err)
		}
	}
	return c, nil
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
