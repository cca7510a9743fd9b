package bridge

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/nats-io/nats-server/v2/server"
)

// CredentialsFile is the file, in the bridge's auth directory, that holds
// each user's generated password as "<PASSWORD VARIABLE>=<password>" lines,
// the variables permissions.PasswordVar names.
const CredentialsFile = "credentials.env"

// Auth is the embedded server's users: the spec's services and the
// operator, each with its least-privilege permissions and a password
// generated at each start.
type Auth struct {
	users     []*server.User
	passwords map[string]string
}

// NewAuth generates the users of spec and writes their passwords to
// dir/CredentialsFile, readable by the owner only.
func NewAuth(spec setup.Spec, dir string) (*Auth, error) {
	users, err := spec.Users()
	if err != nil {
		return nil, err
	}
	a := &Auth{passwords: make(map[string]string, len(users))}
	var env strings.Builder
	for _, u := range users {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("serve: --auth: %w", err)
		}
		pw := base64.RawURLEncoding.EncodeToString(b)
		a.passwords[u.Name] = pw
		a.users = append(a.users, u.Server(pw))
		fmt.Fprintf(&env, "%s=%s\n", permissions.PasswordVar(u.Name), pw)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("serve: --auth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CredentialsFile), []byte(env.String()), 0o600); err != nil {
		return nil, fmt.Errorf("serve: --auth: %w", err)
	}
	return a, nil
}

// Password returns the generated password of user.
func (a *Auth) Password(user string) string { return a.passwords[user] }
