package testutil

import (
	"crypto/tls"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// tlsTimeout bounds the server's TLS handshakes; generous because CI
// machines are loaded and tests run with -race.
const tlsTimeout = 10 // seconds

// WithTLS makes the server accept TLS connections only, with cfg: its
// Certificates are the server's. With cfg.ClientAuth set to
// tls.RequireAndVerifyClientCert and cfg.ClientCAs to the clients' CA, it is
// mutual TLS: the server refuses a client without a certificate from that
// CA. Clients then need nats.RootCAs (or nats.Secure) to trust the server's
// certificate.
func WithTLS(cfg *tls.Config) ServerOption {
	return WithServerOptions(func(o *server.Options) {
		o.TLSConfig = cfg
		o.TLS = true
		o.TLSVerify = cfg.ClientAuth == tls.RequireAndVerifyClientCert
		o.TLSTimeout = tlsTimeout
	})
}

// WithUsers makes the server accept only these users, each with its
// password and, if set, its permissions (see package permissions).
// Combine it with WithNkeyUsers to accept both kinds.
func WithUsers(users ...*server.User) ServerOption {
	return WithServerOptions(func(o *server.Options) { o.Users = append(o.Users, users...) })
}

// WithNkeyUsers makes the server accept only these NKey users (clients
// connect with nats.Nkey or nats.NkeyOptionFromSeed), each with its
// permissions if set.
func WithNkeyUsers(users ...*server.NkeyUser) ServerOption {
	return WithServerOptions(func(o *server.Options) { o.Nkeys = append(o.Nkeys, users...) })
}

// WithToken makes the server accept only clients that present token
// (nats.Token).
func WithToken(token string) ServerOption {
	return WithServerOptions(func(o *server.Options) { o.Authorization = token })
}

// WithOperator runs the server in operator mode (decentralized JWT
// authentication): it trusts operator, resolves the accounts from
// accountJWTs (account public key -> account JWT) in memory, and uses
// systemAccount (a key of accountJWTs) as its system account. Clients
// connect with a user JWT issued by one of the accounts
// (nats.UserCredentials). An account that uses JetStream needs JetStream
// limits in its JWT.
func WithOperator(operator *jwt.OperatorClaims, systemAccount string, accountJWTs map[string]string) ServerOption {
	return WithServerOptions(func(o *server.Options) {
		resolver := &server.MemAccResolver{}
		for account, token := range accountJWTs {
			// A MemAccResolver never fails to store.
			_ = resolver.Store(account, token)
		}
		o.TrustedOperators = append(o.TrustedOperators, operator)
		o.AccountResolver = resolver
		o.SystemAccount = systemAccount
	})
}
