package permissions_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/nats-io/nats-server/v2/server"
)

// TestConfigLoadsIntoNATSServer parses the rendered block with
// nats-server's own configuration parser: each user comes out with the
// permissions that Permissions.Server gives an embedded server, passwords
// come from the environment and NKey users have no password.
func TestConfigLoadsIntoNATSServer(t *testing.T) {
	nkey := newNkey(t)
	users, err := permissions.ForServices("ipc",
		permissions.Service{Name: "exprsn-timeline"},
		permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}, IdempotencyGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	users[1].Nkey = nkey
	config, err := permissions.Config(users)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(permissions.PasswordVar("exprsn-timeline"), "timeline-secret")
	t.Setenv(permissions.PasswordVar(permissions.OperatorName), "operator-secret")
	var opts server.Options
	if err := opts.ProcessConfigString(config); err != nil {
		t.Fatalf("nats-server refuses the configuration: %v\n%s", err, config)
	}

	if len(opts.Users) != 2 || len(opts.Nkeys) != 1 {
		t.Fatalf("got %d users and %d nkey users, want 2 and 1", len(opts.Users), len(opts.Nkeys))
	}
	for i, want := range []struct {
		user     permissions.User
		password string
	}{{users[0], "timeline-secret"}, {users[2], "operator-secret"}} {
		got := opts.Users[i]
		if got.Username != want.user.Name || got.Password != want.password {
			t.Errorf("user %d = %q with password %q, want %q with %q", i, got.Username, got.Password, want.user.Name, want.password)
		}
		if !reflect.DeepEqual(got.Permissions, want.user.Permissions.Server()) {
			t.Errorf("%s: permissions %+v, want %+v", got.Username, got.Permissions, want.user.Permissions.Server())
		}
	}
	if got := opts.Nkeys[0]; got.Nkey != nkey || !reflect.DeepEqual(got.Permissions, users[1].Permissions.Server()) {
		t.Errorf("nkey user %q with %+v, want %q with %+v", got.Nkey, got.Permissions, nkey, users[1].Permissions.Server())
	}
}

// TestConfigNeedsThePasswords: nats-server refuses to start when a
// password variable is not set, rather than letting a user in without one.
func TestConfigNeedsThePasswords(t *testing.T) {
	config, err := permissions.Config([]permissions.User{{Name: "exprsn-unset-user"}})
	if err != nil {
		t.Fatal(err)
	}
	var opts server.Options
	err = opts.ProcessConfigString(config)
	if err == nil || !strings.Contains(err.Error(), permissions.PasswordVar("exprsn-unset-user")) {
		t.Fatalf("ProcessConfigString: %v; want an error naming the variable", err)
	}
}

func TestConfigRefusesSharedPasswordVariables(t *testing.T) {
	_, err := permissions.Config([]permissions.User{{Name: "exprsn-auth"}, {Name: "exprsn_auth"}})
	if err == nil || !strings.Contains(err.Error(), "EXPRSN_AUTH_PASSWORD") {
		t.Fatalf("Config: %v; want an error naming the shared variable", err)
	}
}
