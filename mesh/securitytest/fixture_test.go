package securitytest

import (
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// The seed's five services and what they do on the mesh.
const (
	timeline  = "exprsn-timeline"
	herald    = "exprsn-herald"
	spark     = "exprsn-spark"
	auth      = "exprsn-auth"
	moderator = "exprsn-moderator"
)

// seed is the namespace's setup: the seed's services, with the durable
// handlers the tests register.
var seed = setup.Spec{
	Namespace: "ipc",
	Streams:   setup.Streams{Memory: true},
	Services: []setup.Service{
		{Name: timeline},
		{Name: herald, IdempotencyGuard: true, OncePerService: []string{"user:login"}, Durable: []setup.Handler{
			{Event: "notification:queued"},
			{Event: "notification:poison"},
			{Event: "notification:*", AckWait: setup.Duration(2 * time.Second)},
		}},
		{Name: spark},
		{Name: auth},
		{Name: moderator, Durable: []setup.Handler{{Event: "content:submitted"}}},
	},
}

// secureMesh is an embedded server whose only users are the seed's
// services, the roles' users (roleUsers) and the operator, each with the
// permissions of package permissions and the password passwordOf(name),
// and which browsers reach on a WebSocket listener too; the operator has
// applied the namespace's setup and published a signing key, and the
// services' workers hold no management rights
// (mesh.StreamConfig.Provisioned).
type secureMesh struct {
	*testutil.Server
	private bool          // the services use private inboxes
	authKey nkeys.KeyPair // the key published for exprsn-auth
}

func startSecureMesh(t *testing.T, private bool, opts ...testutil.ServerOption) *secureMesh {
	t.Helper()
	users := roleUsers(t, seedUsers(t, private))
	accounts := make([]*server.User, len(users))
	for i, u := range users {
		accounts[i] = u.Server(passwordOf(u.Name))
	}
	webSocket := testutil.WithServerOptions(func(o *server.Options) {
		if err := embedded.EnableWebSocket(o, embedded.WebSocket{}); err != nil {
			t.Fatal(err)
		}
	})
	opts = append(opts, webSocket, testutil.WithUsers(accounts...))
	m := &secureMesh{Server: testutil.StartServer(t, opts...), private: private, authKey: must(t, nkeys.CreateUser)}
	// The operator applies the setup, as meshctl serve and meshctl setup do.
	op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{Stream: mesh.StreamConfig{Disable: true}})
	js, err := jetstream.New(op.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	if _, err := setup.Apply(ctx, js, seed); err != nil {
		t.Fatal(err)
	}
	if err := signing.PublishKeys(ctx, js, "ipc", map[string]string{auth: publicKey(t, m.authKey)}); err != nil {
		t.Fatal(err)
	}
	return m
}

// seedUsers returns the users of the seed's services, with private
// inboxes or not, and the operator.
func seedUsers(t *testing.T, private bool) []permissions.User {
	t.Helper()
	spec := seed
	spec.Services = make([]setup.Service, len(seed.Services))
	for i, s := range seed.Services {
		s.SharedInbox = !private
		spec.Services[i] = s
	}
	users, err := spec.Users()
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func passwordOf(user string) string { return "pw-" + user }

// credentials returns the NATS options with which user connects.
func (m *secureMesh) credentials(user string) []nats.Option {
	opts := []nats.Option{nats.UserInfo(user, passwordOf(user))}
	if m.private && user != permissions.OperatorName && user != browser {
		opts = append(opts, nats.CustomInboxPrefix(subjects.InboxPrefix(user)))
	}
	return opts
}

// urlOf returns the URL user connects to: the WebSocket listener for the
// browser, the client port for the others.
func (m *secureMesh) urlOf(user string) string {
	if user == browser {
		return m.NATS.WebsocketURL()
	}
	return m.URL()
}

// connect connects a worker for service with user's credentials and cfg's
// other settings.
func (m *secureMesh) connect(t *testing.T, user, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	cfg.Service = service
	cfg.SharedInbox = !m.private || user == permissions.OperatorName // the operator reads the shared inbox
	cfg.Stream.Provisioned = user != permissions.OperatorName
	cfg.NATSOptions = append(m.credentials(user), cfg.NATSOptions...)
	return mustDial(t, m.URL(), cfg)
}

// The names of two services' consumers.
var (
	heraldQueued       = subjects.ConsumerName(herald, "notification:queued")
	moderatorSubmitted = subjects.ConsumerName(moderator, "content:submitted")
)
