package outbox

import (
	"encoding/json"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
)

// askStats returns the worker's answer to a stats request over NATS.
func askStats(t *testing.T, f *fixture) mesh.InstanceStats {
	t.Helper()
	nc, err := nats.Connect(f.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	resp, err := nc.Request(subjects.StatsSubject(f.w.Namespace()), nil, testutil.DefaultWait)
	if err != nil {
		t.Fatalf("stats request: %v", err)
	}
	var st mesh.InstanceStats
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		t.Fatalf("stats answer: %v", err)
	}
	return st
}

// The relay's Stats are in its worker's answers to stats requests, which
// the bridge serves, until Close.
func TestStatsInWorkerStats(t *testing.T) {
	f := newFixture(t, backends[0])
	runRelay(t, f.o)
	commit(t, f.db, f.o, 0, 2)
	testutil.WaitUntil(t, "2 events published", func() bool { return f.o.Stats().Published == 2 })

	name := "outbox:" + f.o.cfg.Table
	raw, ok := askStats(t, f).Extra[name]
	if !ok {
		t.Fatalf("no %q in the worker's stats answer", name)
	}
	var got Stats
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Published != 2 || got.Table != f.o.cfg.Table || got.Service != "exprsn-shop" || !got.Running {
		t.Fatalf("the answer's outbox stats: %+v; want 2 published by the running relay of exprsn-shop", got)
	}

	if err := f.o.Close(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := askStats(t, f).Extra[name]; ok {
		t.Fatalf("%q still in the stats answer after Close", name)
	}
}
