package main

import (
	"crypto/rand"
	"fmt"

	"github.com/exprsn/ipcmesh/examples/service/spec"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// credentials are the users of the demo's server when it runs with -auth:
// the example services' users and the operator, with the least privilege
// that the services' spec (package spec, mesh.json) gives them, as
// meshctl serve --spec --auth makes them, and a password generated for
// the run.
type credentials struct {
	spec      setup.Spec
	users     []*server.User // for server.Options.Users
	passwords map[string]string
}

// newCredentials generates the users of the example services' spec.
func newCredentials() (*credentials, error) {
	s, err := spec.Load()
	if err != nil {
		return nil, fmt.Errorf("load the services' spec: %w", err)
	}
	users, err := s.Users()
	if err != nil {
		return nil, fmt.Errorf("generate the services' users: %w", err)
	}
	c := &credentials{spec: s, passwords: make(map[string]string, len(users))}
	for _, u := range users {
		pw := rand.Text()
		c.passwords[u.Name] = pw
		c.users = append(c.users, u.Server(pw))
	}
	return c, nil
}

// as returns the option that connects as user.
func (c *credentials) as(user string) nats.Option { return nats.UserInfo(user, c.passwords[user]) }
