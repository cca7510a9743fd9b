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
		Publish:   &server.SubjectPermission{Allow: slices.Clone(p.Publish)},
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
		Pub: jwt.Permission{Allow: slices.Clone(p.Publish)},
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
