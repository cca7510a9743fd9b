package durable

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

var defaults = Defaults{MaxDeliver: 5, Backoff: []time.Duration{time.Second}, AckWait: 30 * time.Second, Prefetch: 500, BatchSize: 100, BatchWait: time.Second}

func TestNewConfigDefaults(t *testing.T) {
	cfg, err := NewConfig("ipc", "svc", "post:created", Options{}, 0, false, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxDeliver != 5 || cfg.AckWait != 30*time.Second || cfg.Concurrency != 1 || cfg.Prefetch != 500 ||
		cfg.Batch != 1 || cfg.Start.Policy != jetstream.DeliverNewPolicy || cfg.Stream != "MESH_ipc" || len(cfg.Filters) != 2 {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	batch, err := NewConfig("ipc", "svc", "post:created", Options{}, 400, true, defaults)
	if err != nil || batch.Batch != 100 || batch.BatchWait != time.Second || batch.Prefetch != 800 {
		t.Fatalf("batch defaults: %+v, %v; want batches of 100 within 1s, prefetch twice the concurrency", batch, err)
	}
}

func TestNewConfigRefuses(t *testing.T) {
	for want, o := range map[string]Options{
		"option MaxDeliver -1":       {MaxDeliver: -1},
		"option AckWait 10ms":        {AckWait: 10 * time.Millisecond},
		"option Backoff -1s":         {Backoff: []time.Duration{-time.Second}},
		"option InactiveExpiry -2ns": {Expiry: -2},
		"option DurableName":         {Name: "a.b"},
	} {
		if _, err := NewConfig("ipc", "svc", "post:created", o, 0, false, defaults); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: got %v, want an error starting %q", o, err, want)
		}
	}
	if _, err := NewConfig("ipc", "svc", "post:created", Options{}, -1, false, defaults); err == nil {
		t.Error("a negative concurrency was accepted")
	}
}

func TestBatchError(t *testing.T) {
	failed := map[int]error{3: errors.New("c"), 0: errors.New("a"), 1: nil}
	if got, want := BatchError(failed), "mesh: batch: event 0: a; event 3: c"; got != want {
		t.Fatalf("BatchError = %q, want %q", got, want)
	}
	if errs := BatchErrors(failed); len(errs) != 2 || errs[0] != failed[0] || errs[1] != failed[3] {
		t.Fatalf("BatchErrors = %v, want the errors of events 0 and 3", errs)
	}
}
