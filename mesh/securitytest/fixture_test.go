package securitytest

import (
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The seed's five services and what they do on the mesh.
const (
	timeline  = "exprsn-timeline"
	herald    = "exprsn-herald"
	spark     = "exprsn-spark"
	auth      = "exprsn-auth"
	moderator = "exprsn-moderator"
)

var seed = []permissions.Service{
	{Name: timeline},
	{Name: herald, Durable: true, IdempotencyGuard: true, OncePerService: []string{"user:login"}},
	{Name: spark},
	{Name: auth},
	{Name: moderator, Durable: true},
}

// secureMesh is an embedded server whose only users are the seed's
// services and the operator, each with the permissions of package
// permissions and the password passwordOf(name); the operator has created
// the namespace's streams.
type secureMesh struct {
	*testutil.Server
	private bool // the services use private inboxes
}

func startSecureMesh(t *testing.T, private bool, opts ...testutil.ServerOption) *secureMesh {
	t.Helper()
	users := seedUsers(t, private)
	accounts := make([]*server.User, len(users))
	for i, u := range users {
		accounts[i] = &server.User{Username: u.Name, Password: passwordOf(u.Name), Permissions: u.Permissions.Server()}
	}
	m := &secureMesh{Server: testutil.StartServer(t, append(opts, testutil.WithUsers(accounts...))...), private: private}
	// The operator creates the streams, as meshctl serve does.
	m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{Stream: mesh.StreamConfig{Manage: true, Config: streams.Config{Storage: jetstream.MemoryStorage}}})
	return m
}

// seedUsers returns the users of the seed's services, with private
// inboxes or not, and the operator.
func seedUsers(t *testing.T, private bool) []permissions.User {
	t.Helper()
	services := make([]permissions.Service, len(seed))
	for i, s := range seed {
		s.SharedInbox = !private
		services[i] = s
	}
	users, err := permissions.ForServices("ipc", services...)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func passwordOf(user string) string { return "pw-" + user }

// credentials returns the NATS options with which user connects.
func (m *secureMesh) credentials(user string) []nats.Option {
	opts := []nats.Option{nats.UserInfo(user, passwordOf(user))}
	if m.private && user != permissions.OperatorName {
		opts = append(opts, nats.CustomInboxPrefix(subjects.InboxPrefix(user)))
	}
	return opts
}

// connect connects a worker for service with user's credentials and cfg's
// other settings.
func (m *secureMesh) connect(t *testing.T, user, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	cfg.Service = service
	cfg.SharedInbox = !m.private || user == permissions.OperatorName // the operator reads the shared inbox
	cfg.NATSOptions = append(m.credentials(user), cfg.NATSOptions...)
	return mustDial(t, m.URL(), cfg)
}
