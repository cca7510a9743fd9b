package conn

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connectHint says which flags to check after a failed connection.
func connectHint(err error) string {
	if h := flagsHint(err); h != "" {
		return h
	}
	return "is nats-server running there and reachable? " + serveStartsOne
}

// serveStartsOne ends the hint of a connection that found no server.
const serveStartsOne = "meshctl serve starts one"

// flagsHint names the flags to check after a connection failed on
// credentials, TLS or a file, or is "" for other errors.
func flagsHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return "check the files given with --creds, --nkey, --tls-ca, --tls-cert and --tls-key"
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return "check --creds, --user and --password, --token or --nkey"
	case errors.Is(err, nats.ErrTLS), errors.Is(err, nats.ErrSecureConnWanted), errors.Is(err, nats.ErrSecureConnRequired):
		return "check --tls-ca, --tls-cert and --tls-key, and the server's TLS setup"
	}
	return ""
}

// workerConnectHint adds meshctl's advice to mesh.Connect's error, whose
// own hint names Config fields rather than meshctl's flags.
func workerConnectHint(err error) error {
	if h := flagsHint(err); h != "" {
		return fmt.Errorf("%w (%s)", err, h)
	}
	if errors.Is(err, nats.ErrNoServers) {
		return fmt.Errorf("%w (%s)", err, serveStartsOne)
	}
	return err
}

// StreamsHint is meshctl's advice for a namespace without its streams.
const StreamsHint = "is the bridge (meshctl serve) running on this server?"

// WithStreamsHint adds StreamsHint to an error about a missing stream.
func WithStreamsHint(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (%s)", err, StreamsHint)
	}
	return err
}
