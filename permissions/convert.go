package permissions

import (
	"slices"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// Server returns p as nats-server's permissions, for a server.User or
// server.NkeyUser of an embedded server. AllowResponses becomes what
// allow_responses: true means in a configuration file.
func (p Permissions) Server() *server.Permissions {
	sp := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(p.Publish), Deny: slices.Clone(p.DenyPublish)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(p.Subscribe)},
	}
	if p.AllowResponses {
		sp.Response = &server.ResponsePermission{
			MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
			Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION,
		}
	}
	return sp
}

// JWT returns p as the permissions of a user JWT (operator mode), for
// jwt.UserClaims.Permissions.
func (p Permissions) JWT() jwt.Permissions {
	jp := jwt.Permissions{
		Pub: jwt.Permission{Allow: slices.Clone(p.Publish), Deny: slices.Clone(p.DenyPublish)},
		Sub: jwt.Permission{Allow: slices.Clone(p.Subscribe)},
	}
	if p.AllowResponses {
		jp.Resp = &jwt.ResponsePermission{
			MaxMsgs: server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
			Expires: server.DEFAULT_ALLOW_RESPONSE_EXPIRATION,
		}
	}
	return jp
}

// Server returns u as a password user of an embedded server
// (server.Options.Users), with its permissions and connection types.
func (u User) Server(password string) *server.User {
	su := &server.User{Username: u.Name, Password: password, Permissions: u.Permissions.Server()}
	if len(u.ConnectionTypes) > 0 {
		su.AllowedConnectionTypes = make(map[string]struct{}, len(u.ConnectionTypes))
		for _, t := range u.ConnectionTypes {
			su.AllowedConnectionTypes[t] = struct{}{}
		}
	}
	return su
}

// JWT sets the permissions and allowed connection types of claims, a user
// JWT's (operator mode), to u's.
func (u User) JWT(claims *jwt.UserClaims) {
	claims.Permissions = u.Permissions.JWT()
	claims.AllowedConnectionTypes = slices.Clone(jwt.StringList(u.ConnectionTypes))
}
