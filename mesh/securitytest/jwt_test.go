package securitytest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// trust is what nsc would make for a mesh in operator mode: an operator, a
// system account and an application account with JetStream, whose key
// signs the users' JWTs.
type trust struct {
	// option runs the server in operator mode with these accounts.
	option  testutil.ServerOption
	account nkeys.KeyPair
	dir     string
}

func newTrust(t *testing.T) *trust {
	t.Helper()
	op := must(t, nkeys.CreateOperator)
	opClaims := jwt.NewOperatorClaims(publicKey(t, op))
	opClaims.Name = "ipcmesh-test"
	opJWT, err := opClaims.Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	// What the server trusts is the operator JWT as decoded from a file.
	opClaims, err = jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	sys, sysJWT := newAccount(t, op, "SYS", false)
	app, appJWT := newAccount(t, op, "MESH", true)
	accounts := map[string]string{publicKey(t, sys): sysJWT, publicKey(t, app): appJWT}
	return &trust{
		option:  testutil.WithOperator(opClaims, publicKey(t, sys), accounts),
		account: app,
		dir:     t.TempDir(),
	}
}

// newAccount makes an account signed by op, with JetStream if js.
func newAccount(t *testing.T, op nkeys.KeyPair, name string, js bool) (nkeys.KeyPair, string) {
	t.Helper()
	acc := must(t, nkeys.CreateAccount)
	claims := jwt.NewAccountClaims(publicKey(t, acc))
	claims.Name = name
	if js {
		claims.Limits.JetStreamLimits = jwt.JetStreamLimits{
			MemoryStorage: jwt.NoLimit, DiskStorage: jwt.NoLimit, Streams: jwt.NoLimit, Consumer: jwt.NoLimit,
		}
	}
	token, err := claims.Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	return acc, token
}

// creds writes the creds file of a new user named name, issued by the
// application account with perms, and returns its path and the user's
// seed (the secret in it).
func (tr *trust) creds(t *testing.T, name string, perms jwt.Permissions) (file, seed string) {
	t.Helper()
	return writeCreds(t, tr.dir, name, tr.account, perms)
}

// strangerCreds writes the creds file of a user issued by an account the
// server does not know.
func (tr *trust) strangerCreds(t *testing.T) (file, seed string) {
	t.Helper()
	return writeCreds(t, tr.dir, "stranger", must(t, nkeys.CreateAccount), jwt.Permissions{})
}

func writeCreds(t *testing.T, dir, name string, issuer nkeys.KeyPair, perms jwt.Permissions) (file, seed string) {
	t.Helper()
	user := must(t, nkeys.CreateUser)
	claims := jwt.NewUserClaims(publicKey(t, user))
	claims.Name = name
	claims.Permissions = perms
	token, err := claims.Encode(issuer)
	if err != nil {
		t.Fatal(err)
	}
	rawSeed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(token, rawSeed)
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(dir, name+".creds")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, string(rawSeed)
}

func must(t *testing.T, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func publicKey(t *testing.T, kp nkeys.KeyPair) string {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
