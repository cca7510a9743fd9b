package permissions_test

import (
	"slices"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// TestJWT: a user JWT carries the same permissions as Server gives an
// embedded server, and they validate.
func TestJWT(t *testing.T) {
	p, err := permissions.ForService("ipc", permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}, IdempotencyGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.NewUserClaims(newNkey(t))
	claims.Permissions = p.JWT()
	var vr jwt.ValidationResults
	claims.Validate(&vr)
	if vr.IsBlocking(true) {
		t.Fatalf("invalid JWT permissions: %v", vr.Errors())
	}
	sp := p.Server()
	got := claims.Permissions
	if !slices.Equal(got.Pub.Allow, sp.Publish.Allow) || !slices.Equal(got.Sub.Allow, sp.Subscribe.Allow) ||
		(got.Resp == nil) != (sp.Response == nil) {
		t.Fatalf("JWT permissions %+v differ from the server's %+v", got, sp)
	}
	op, err := permissions.Operator("ipc")
	if err != nil {
		t.Fatal(err)
	}
	resp, sresp := op.JWT().Resp, op.Server().Response
	if resp == nil || sresp == nil || resp.MaxMsgs != sresp.MaxMsgs || resp.Expires != sresp.Expires {
		t.Fatalf("the operator's JWT responses %+v differ from the server's %+v", resp, sresp)
	}
}

func newNkey(t *testing.T) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
