package setup_test

import (
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

const specJSON = `{
  "namespace": "ipc",
  "streams": {"max_age": "72h"},
  "services": [
    {"name": "exprsn-timeline"},
    {"name": "exprsn-herald",
     "durable": [{"event": "notification:queued", "max_deliver": 8},
                 {"event": "user:*", "name": "herald-users", "ordered_by_key": true}],
     "idempotency_guard": true,
     "once_per_service": ["user:login"]}
  ]
}`

func operatorJS(t *testing.T, srv *testutil.Server) jetstream.JetStream {
	t.Helper()
	return testutil.Connect(t, srv, "meshctl").JetStream()
}

// TestApplyIsIdempotentAndSaysWhatChanged: the first Apply creates every
// resource, a second changes nothing, and a changed option updates only
// its consumer, which keeps its position.
func TestApplyIsIdempotentAndSaysWhatChanged(t *testing.T) {
	srv := testutil.StartServer(t)
	js := operatorJS(t, srv)
	ctx := context.Background()
	spec, err := setup.Parse([]byte(specJSON))
	require.NoError(t, err)

	changes, err := setup.Apply(ctx, js, spec)
	require.NoError(t, err)
	require.Equal(t, []setup.Change{
		{Kind: "stream", Name: "MESH_ipc_SCHED", Action: setup.Created},
		{Kind: "stream", Name: "MESH_ipc", Action: setup.Created},
		{Kind: "stream", Name: "MESH_ipc_DLQ", Action: setup.Created},
		{Kind: "bucket", Name: "MESH_ipc_handled_exprsn-herald", Action: setup.Created},
		{Kind: "consumer", Name: subjects.ConsumerName("exprsn-herald", "notification:queued"), Action: setup.Created},
		{Kind: "consumer", Name: "herald-users", Action: setup.Created},
	}, changes)

	again, err := setup.Apply(ctx, js, spec)
	require.NoError(t, err)
	for _, c := range again {
		require.Equal(t, setup.Unchanged, c.Action, c.String())
	}

	spec.Services[1].Durable[0].MaxDeliver = 3
	changed, err := setup.Apply(ctx, js, spec)
	require.NoError(t, err)
	require.Equal(t, setup.Updated, changed[4].Action)
	for i, c := range changed {
		if i != 4 {
			require.Equal(t, setup.Unchanged, c.Action, c.String())
		}
	}
}

// TestProvisionedWorkerUsesTheOperatorsResources: a worker with
// Provisioned set and the spec's options finds its consumer and bucket and
// handles events; with other options it is told and keeps the operator's
// settings; without a setup it fails with an error naming the remedy.
func TestProvisionedWorkerUsesTheOperatorsResources(t *testing.T) {
	srv := testutil.StartServer(t)
	ctx := context.Background()
	provisioned := mesh.Config{Stream: mesh.StreamConfig{Provisioned: true}}

	bare := testutil.Connect(t, srv, "exprsn-herald", provisioned)
	_, err := bare.OnDurable(ctx, "notification:queued", testutil.NewRecorder())
	require.Error(t, err, "no stream, no consumer")

	spec, err := setup.Parse([]byte(specJSON))
	require.NoError(t, err)
	_, err = setup.Apply(ctx, operatorJS(t, srv), spec)
	require.NoError(t, err)

	reports := make(chan error, 4)
	cfg := provisioned
	cfg.OnError = func(err error) { reports <- err }
	herald := testutil.Connect(t, srv, "exprsn-herald", cfg)
	guard, err := idempotency.Guard(ctx, herald, 0)
	require.NoError(t, err)
	rec := testutil.NewRecorder()
	h := spec.Services[1].Durable[0]
	_, err = herald.OnDurable(ctx, h.Event, rec, append(h.Options(), mesh.Use(guard))...)
	require.NoError(t, err)

	_, err = herald.OnDurable(ctx, "digest:*", testutil.NewRecorder())
	require.ErrorContains(t, err, "does not exist")
	require.ErrorContains(t, err, "meshctl setup")

	other := spec.Services[1].Durable[1]
	_, err = herald.OnDurable(ctx, other.Event, testutil.NewRecorder(), mesh.DurableName(other.Name), mesh.OrderedByKey(), mesh.MaxDeliver(2))
	require.NoError(t, err)
	select {
	case err := <-reports:
		require.ErrorContains(t, err, "max deliver")
	case <-time.After(testutil.DefaultWait):
		t.Fatal("a handler whose options differ from the operator's consumer is not told")
	}

	timeline := testutil.Connect(t, srv, "exprsn-timeline", provisioned)
	require.NoError(t, timeline.Emit(ctx, "notification:queued", nil, mesh.To("exprsn-herald")))
	rec.WaitType(t, "notification:queued", 0)
	require.Empty(t, reports, "the handler with the spec's options reports nothing")
}

func TestSpecErrors(t *testing.T) {
	for name, spec := range map[string]string{
		"unknown field":      `{"services": [{"name": "a", "durabel": []}]}`,
		"no services":        `{"namespace": "ipc", "services": []}`,
		"bad name":           `{"services": [{"name": "a.b"}]}`,
		"twice":              `{"services": [{"name": "a"}, {"name": "a"}]}`,
		"bad start":          `{"services": [{"name": "a", "durable": [{"event": "x", "start": "yesterday"}]}]}`,
		"bad pattern":        `{"services": [{"name": "a", "durable": [{"event": "a b"}]}]}`,
		"bad duration":       `{"streams": {"max_age": 5}, "services": [{"name": "a"}]}`,
		"bad durablename":    `{"services": [{"name": "a", "durable": [{"event": "x", "name": "a.b"}]}]}`,
		"browser as service": `{"services": [{"name": "a"}], "browsers": [{"name": "a", "feeds": [{"event": "x"}]}]}`,
		"browser no feeds":   `{"services": [{"name": "a"}], "browsers": [{"name": "b"}]}`,
		"bad edge feed":      `{"services": [{"name": "a", "edge": [{"event": "a b"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := setup.Parse([]byte(spec))
			require.ErrorContains(t, err, "setup: ")
		})
	}
}

// TestSpecRoles: a spec's edge, signing-key and browser entries become the
// users permissions builds for them, browsers on WebSocket only.
func TestSpecRoles(t *testing.T) {
	spec, err := setup.Parse([]byte(`{"services": [
		{"name": "timeline", "edge": [{"event": "post:created"}], "signing_keys": true},
		{"name": "auth", "publishes_signing_keys": true}],
		"browsers": [{"name": "browser-u42", "feeds": [{"event": "user:u42:>"}]}]}`))
	require.NoError(t, err)
	users, err := spec.Users()
	require.NoError(t, err)
	byName := map[string]permissions.User{}
	for _, u := range users {
		byName[u.Name] = u
	}
	require.Contains(t, byName, "timeline")
	require.Contains(t, byName, permissions.OperatorName)
	browser, ok := byName["browser-u42"]
	require.True(t, ok, "the browser is one of the users")
	require.Equal(t, []string{permissions.ConnectionWebSocket}, browser.ConnectionTypes)
	require.Contains(t, browser.Permissions.Subscribe, "ipc.all.user.u42.>")
	plain, err := setup.Parse([]byte(`{"services": [{"name": "timeline"}]}`))
	require.NoError(t, err)
	plainUsers, err := plain.Users()
	require.NoError(t, err)
	require.NotEqual(t, plainUsers[0].Permissions, byName["timeline"].Permissions, "edge and signing_keys change the service's grants")
}

// TestApplyTurnsOffDirectGetsOfAGuardBucket: a guard's bucket made as
// nats.go's CreateKeyValue makes it (direct gets, roll-ups) is updated to
// idempotency.BucketConfig, keeping its records.
func TestApplyTurnsOffDirectGetsOfAGuardBucket(t *testing.T) {
	srv := testutil.StartServer(t)
	js := operatorJS(t, srv)
	ctx := context.Background()
	spec, err := setup.Parse([]byte(specJSON))
	require.NoError(t, err)
	bucket := subjects.IdempotencyBucket("ipc", "exprsn-herald")
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: idempotency.DefaultTTL})
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "exprsn-herald.x.y", idempotency.Record)
	require.NoError(t, err)

	changes, err := setup.Apply(ctx, js, spec)
	require.NoError(t, err)
	require.Contains(t, changes, setup.Change{Kind: "bucket", Name: bucket, Action: setup.Updated})
	s, err := js.Stream(ctx, "KV_"+bucket)
	require.NoError(t, err)
	c := s.CachedInfo().Config
	require.False(t, c.AllowDirect, "direct gets")
	require.False(t, c.AllowRollup, "roll-ups")
	require.Equal(t, uint64(1), s.CachedInfo().State.Msgs, "the record is kept")
}
