package signing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// countingKV is a bucket whose Get fails with err and counts its calls.
type countingKV struct {
	jetstream.KeyValue
	err  error
	gets atomic.Int64
}

func (k *countingKV) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	k.gets.Add(1)
	return nil, k.err
}

func (k *countingKV) Bucket() string { return "MESH_ipc_keys" }

func TestBucketCacheIsBounded(t *testing.T) {
	kv := &countingKV{err: jetstream.ErrKeyNotFound}
	b := &Bucket{kv: kv, ttl: time.Hour, cache: map[string]cached{}}
	ctx := context.Background()
	for i := range 3 * MaxCached {
		if _, err := b.Keys(ctx, fmt.Sprintf("ghost-%d", i)); !errors.Is(err, ErrUnknownSigner) {
			t.Fatalf("Keys: %v, want ErrUnknownSigner", err)
		}
	}
	if n := len(b.cache); n > MaxCached {
		t.Fatalf("%d services cached, want at most %d", n, MaxCached)
	}
	before := kv.gets.Load()
	for range 10 {
		_, _ = b.Keys(ctx, "ghost-new")
	}
	if n := kv.gets.Load() - before; n != 1 {
		t.Fatalf("%d reads of a service looked up 10 times within the TTL, want 1", n)
	}
}

func TestBucketDoesNotCacheFailures(t *testing.T) {
	kv := &countingKV{err: context.DeadlineExceeded}
	b := &Bucket{kv: kv, ttl: time.Hour, cache: map[string]cached{}}
	for range 3 {
		if _, err := b.Keys(context.Background(), "exprsn-auth"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnknownSigner) {
			t.Fatalf("Keys: %v, want the bucket's error", err)
		}
	}
	if n := kv.gets.Load(); n != 3 {
		t.Fatalf("%d reads, want 3: a failed read is not cached", n)
	}
}
