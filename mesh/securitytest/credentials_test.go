package securitytest

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// The hints mesh.Connect's errors give for refused credentials, TLS and
// files that cannot be read.
const (
	credentialsHint = "check the credentials given in Config.NATSOptions"
	tlsHint         = "check the TLS options in Config.NATSOptions"
	filesHint       = "a file given in Config.NATSOptions cannot be read"
)

const (
	service  = "exprsn-timeline"
	password = "pw-7d1e-never-log-me"
	token    = "tok-91ac-never-log-me"
)

// TestCredentials runs the embedded server with each kind of
// authentication and transport security: a worker given the right options
// in Config.NATSOptions connects, emits and handles an event; one given
// wrong ones fails at Connect with an error saying which options to check;
// and no secret appears in the error or the logs.
func TestCredentials(t *testing.T) {
	pki := newPKI(t)
	tr := newTrust(t)
	nkey, stranger := must(t, nkeys.CreateUser), must(t, nkeys.CreateUser)
	nkeySeed, err := nkey.Seed()
	if err != nil {
		t.Fatal(err)
	}
	perms, err := permissions.ForService("ipc", permissions.Service{Name: service})
	if err != nil {
		t.Fatal(err)
	}
	goodCreds, goodSeed := tr.creds(t, service, perms.JWT())
	badCreds, badSeed := tr.strangerCreds(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")

	tests := []struct {
		name    string
		server  []testutil.ServerOption
		good    []nats.Option
		bad     []nats.Option
		wantErr error // matched by the refused Connect's error, if not nil
		hint    string
		secrets []string
	}{{
		name:    "user and password",
		server:  []testutil.ServerOption{testutil.WithUsers(&server.User{Username: service, Password: password})},
		good:    []nats.Option{nats.UserInfo(service, password)},
		bad:     []nats.Option{nats.UserInfo(service, "wrong-"+password)},
		wantErr: nats.ErrAuthorization,
		hint:    credentialsHint,
		secrets: []string{password},
	}, {
		name:    "token",
		server:  []testutil.ServerOption{testutil.WithToken(token)},
		good:    []nats.Option{nats.Token(token)},
		bad:     []nats.Option{nats.Token("wrong-" + token)},
		wantErr: nats.ErrAuthorization,
		hint:    credentialsHint,
		secrets: []string{token},
	}, {
		name:    "nkey",
		server:  []testutil.ServerOption{testutil.WithNkeyUsers(&server.NkeyUser{Nkey: publicKey(t, nkey)})},
		good:    []nats.Option{nats.Nkey(publicKey(t, nkey), nkey.Sign)},
		bad:     []nats.Option{nats.Nkey(publicKey(t, stranger), stranger.Sign)},
		wantErr: nats.ErrAuthorization,
		hint:    credentialsHint,
		secrets: []string{string(nkeySeed)},
	}, {
		name:    "creds file with a JWT",
		server:  []testutil.ServerOption{tr.option},
		good:    []nats.Option{nats.UserCredentials(goodCreds)},
		bad:     []nats.Option{nats.UserCredentials(badCreds)},
		wantErr: nats.ErrAuthorization,
		hint:    credentialsHint,
		secrets: []string{goodSeed, badSeed},
	}, {
		name:    "missing creds file",
		server:  []testutil.ServerOption{tr.option},
		good:    []nats.Option{nats.UserCredentials(goodCreds)},
		bad:     []nats.Option{nats.UserCredentials(missing)},
		wantErr: fs.ErrNotExist,
		hint:    filesHint,
	}, {
		name:   "TLS",
		server: []testutil.ServerOption{testutil.WithTLS(pki.serverTLS(t, false))},
		good:   []nats.Option{nats.RootCAs(pki.caFile)},
		hint:   tlsHint,
	}, {
		name:   "mutual TLS",
		server: []testutil.ServerOption{testutil.WithTLS(pki.serverTLS(t, true))},
		good:   []nats.Option{nats.RootCAs(pki.caFile), nats.ClientCert(pki.clientCert, pki.clientKey)},
		bad:    []nats.Option{nats.RootCAs(pki.caFile)},
		hint:   tlsHint,
	}, {
		name:    "missing CA file",
		server:  []testutil.ServerOption{testutil.WithTLS(pki.serverTLS(t, false))},
		good:    []nats.Option{nats.RootCAs(pki.caFile)},
		bad:     []nats.Option{nats.RootCAs(missing)},
		wantErr: fs.ErrNotExist,
		hint:    filesHint,
	}, {
		name:    "missing client certificate",
		server:  []testutil.ServerOption{testutil.WithTLS(pki.serverTLS(t, true))},
		good:    []nats.Option{nats.RootCAs(pki.caFile), nats.ClientCert(pki.clientCert, pki.clientKey)},
		bad:     []nats.Option{nats.RootCAs(pki.caFile), nats.ClientCert(missing, pki.clientKey)},
		wantErr: fs.ErrNotExist,
		hint:    filesHint,
	}, {
		name:    "TLS wanted, server without",
		bad:     []nats.Option{nats.Secure()},
		wantErr: nats.ErrSecureConnWanted,
		hint:    tlsHint,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.StartServer(t, tc.server...)
			var goodLogs, badLogs testutil.Buffer
			w := mustDial(t, srv.URL(), mesh.Config{Service: service, NATSOptions: tc.good, Logger: logger(&goodLogs)})
			roundTrip(t, w)

			_, err := dial(t, srv.URL(), mesh.Config{Service: service, NATSOptions: tc.bad, Logger: logger(&badLogs)})
			t.Logf("refused: %v", err)
			switch {
			case err == nil:
				t.Fatal("Connect with wrong options succeeded")
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("Connect: %v; want an error matching %v", err, tc.wantErr)
			case !strings.Contains(err.Error(), tc.hint):
				t.Errorf("Connect: %v; want the hint %q", err, tc.hint)
			}
			for _, secret := range append(tc.secrets, "wrong-"+password, "wrong-"+token) {
				assertNoSecret(t, secret, map[string]string{"the error": err.Error(), "the logs": goodLogs.String() + badLogs.String()})
			}
		})
	}
}

// TestCredentialsInURLAreRedacted gives the password in the server URL:
// neither the error of a refused Connect nor the logs show it.
func TestCredentialsInURLAreRedacted(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithUsers(&server.User{Username: service, Password: password}))
	withUser := func(pw string) string {
		return strings.Replace(srv.URL(), "nats://", "nats://"+service+":"+pw+"@", 1)
	}
	var logs testutil.Buffer
	w := mustDial(t, withUser(password), mesh.Config{Service: service, Logger: logger(&logs)})
	roundTrip(t, w)
	_, err := dial(t, withUser("wrong-"+password), mesh.Config{Service: service, Logger: logger(&logs)})
	if err == nil || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("Connect with a wrong password in the URL: %v; want an authorization error", err)
	}
	assertNoSecret(t, password, map[string]string{"the error": err.Error(), "the logs": logs.String()})
}
