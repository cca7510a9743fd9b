// Package conn connects meshctl to the mesh from its global connection
// flags (--server and the credentials): plain NATS and JetStream
// connections for the commands that only read or publish, mesh workers for
// those that act as a service, and, when that fails, advice that names the
// flags to check.
package conn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Timeout bounds connecting to the NATS servers.
const Timeout = 5 * time.Second

// Flags are the connection flags every command takes, as given.
type Flags struct {
	Servers     string
	Creds       string
	User        string
	Password    string
	Token       string
	NKey        string
	TLSCA       string
	TLSCert     string
	TLSKey      string
	InboxPrefix string
}

// ServerList returns the --server URLs.
func (f *Flags) ServerList() []string {
	var out []string
	for _, s := range strings.Split(f.Servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Options maps the credentials flags to nats.go options.
func (f *Flags) Options() ([]nats.Option, error) {
	if f.Password != "" && f.User == "" {
		return nil, errors.New("--password needs --user")
	}
	ways := 0
	for _, set := range []string{f.User, f.Creds, f.Token, f.NKey} {
		if set != "" {
			ways++
		}
	}
	if ways > 1 {
		return nil, errors.New("--creds, --user, --token and --nkey exclude each other: use one way to authenticate")
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	var opts []nats.Option
	switch {
	case f.User != "":
		opts = append(opts, nats.UserInfo(f.User, f.Password))
	case f.Creds != "":
		opts = append(opts, nats.UserCredentials(f.Creds))
	case f.Token != "":
		opts = append(opts, nats.Token(f.Token))
	case f.NKey != "":
		opt, err := nats.NkeyOptionFromSeed(f.NKey)
		if err != nil {
			return nil, fmt.Errorf("--nkey: %w", err)
		}
		opts = append(opts, opt)
	}
	if f.TLSCA != "" {
		opts = append(opts, nats.RootCAs(f.TLSCA))
	}
	if f.TLSCert != "" {
		opts = append(opts, nats.ClientCert(f.TLSCert, f.TLSKey))
	}
	if f.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(f.InboxPrefix))
	}
	return opts, nil
}

// Connect opens a plain NATS connection named name, for the commands that
// do not act as a service.
func (f *Flags) Connect(name string) (*nats.Conn, error) {
	opts, err := f.Options()
	if err != nil {
		return nil, err
	}
	opts = append([]nats.Option{nats.Name(name), nats.Timeout(Timeout)}, opts...)
	servers := strings.Join(f.ServerList(), ",")
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (%s)", mesh.RedactURLs(servers), err, connectHint(err))
	}
	return nc, nil
}

// ConnectJetStream opens a plain NATS connection and its JetStream handle.
func (f *Flags) ConnectJetStream(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := f.Connect(name)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream: %w", err)
	}
	return nc, js, nil
}

// Worker connects a mesh worker for service in namespace ns, for the
// commands that act as one (emit, request). Its warnings and errors go to
// log.
func (f *Flags) Worker(ctx context.Context, ns, service string, log io.Writer) (*mesh.Worker, error) {
	opts, err := f.Options()
	if err != nil {
		return nil, err
	}
	w, err := mesh.Connect(ctx, mesh.Config{
		Service:        service,
		Namespace:      ns,
		Servers:        f.ServerList(),
		NATSOptions:    opts,
		ConnectTimeout: Timeout,
		// The operator's replies come to the shared inbox (or to
		// --inbox-prefix), as for the commands that are not workers.
		SharedInbox: true,
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, workerConnectHint(err)
	}
	return w, nil
}

// CloseWorker closes w, bounded in time, keeping the first error.
func CloseWorker(w *mesh.Worker, err *error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if cerr := w.Close(ctx); cerr != nil && *err == nil {
		*err = cerr
	}
}
