package mesh

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// Defaults used for zero Config fields.
const (
	// DefaultMaxConcurrent bounds the calls of one live handler running at
	// once.
	DefaultMaxConcurrent = 256
	// DefaultConnectTimeout bounds Connect when its context has no sooner
	// deadline.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds a Request whose context has no deadline.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultReconnectWait is the pause between reconnect attempts.
	DefaultReconnectWait = 250 * time.Millisecond
	// DefaultMaxPendingEmits bounds the asynchronous emits waiting for the
	// stream's acknowledgement.
	DefaultMaxPendingEmits = 4096
	// DefaultAsyncEmitTimeout bounds the wait for an asynchronous emit's
	// acknowledgement.
	DefaultAsyncEmitTimeout = 10 * time.Second
)

// Config configures a Worker. The zero value of every field but Service
// means its default.
type Config struct {
	// Service is this service's name, e.g. "exprsn-timeline". Required. It
	// is the CloudEvents source of every event emitted, the target name
	// other services use to reach it, and the NATS connection name.
	Service string

	// Namespace separates meshes sharing one NATS system.
	// Default: "ipc" (subjects.DefaultNamespace).
	Namespace string

	// Servers are the NATS server URLs; give several for a cluster.
	// Default: nats://127.0.0.1:4222.
	Servers []string

	// Background makes Connect return at once, without waiting for a
	// server: the worker connects in the background, retrying every
	// DefaultReconnectWait, and Worker.Ready says when it is ready. Handlers
	// registered meanwhile start then (live ones receive what is sent after
	// the connection; durable ones resume or start as their options say).
	// Until then, Emit fails with an error matching ErrDisconnected, unless
	// Stream.Disable is set: live-only events are buffered by the NATS
	// client (8 MiB) and sent on connect. A nats.ConnectHandler in
	// NATSOptions replaces the worker's, which makes it ready: leave it
	// out. Default: false, Connect waits for the server and fails if there
	// is none.
	Background bool

	// SharedInbox makes the worker receive replies (to its requests and its
	// JetStream calls) on the shared inbox prefix _INBOX, which any client
	// allowed to subscribe to _INBOX.> can read, instead of its own,
	// subjects.InboxPrefix(Service) ("_INBOX_<service>"), which generated
	// permissions confine to the service. Default: false, private inboxes.
	SharedInbox bool

	// NATSOptions are passed to nats.Connect after the worker's own, for
	// credentials (nats.UserCredentials, nats.UserInfo, nats.Token,
	// nats.Nkey), TLS (nats.RootCAs, nats.ClientCert, nats.Secure) and
	// anything else. An option setting a connection event handler replaces
	// the worker's own, which feeds the hooks below.
	NATSOptions []nats.Option

	// Logger receives the worker's logs, with the attribute service.
	// Default: slog.Default().
	Logger *slog.Logger

	// MaxConcurrent bounds the calls of each live handler running at once
	// (Concurrency overrides it per handler). When a handler has that many
	// running, its subscription waits, and further events wait in the NATS
	// client's pending buffer for the subscription (64 MiB or 512Ki
	// messages); past that the client drops them, counts them in
	// Stats.Dropped and reports a slow consumer through OnError. Other
	// handlers go on, except those registered for the same pattern and
	// delivery, which share the subscription.
	// Default: DefaultMaxConcurrent.
	MaxConcurrent int

	// ConnectTimeout bounds Connect when ctx has no sooner deadline.
	// Default: DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// RequestTimeout bounds a Request whose context has no deadline.
	// Default: DefaultRequestTimeout.
	RequestTimeout time.Duration

	// Encoding is the CloudEvents mode of emitted events. Default:
	// codec.Structured (the whole event as JSON in the body, no headers),
	// the fastest; codec.Binary puts attributes in ce-* headers. Workers
	// decode both whatever this says.
	Encoding codec.Mode

	// Stream says how the worker uses the namespace's JetStream streams.
	// Default: use them if they exist, never create them.
	Stream StreamConfig

	// MaxPendingEmits bounds the EmitAsync calls waiting for the stream's
	// acknowledgement; EmitAsync waits while that many are pending.
	// Default: DefaultMaxPendingEmits.
	MaxPendingEmits int

	// AsyncEmitTimeout is how long an EmitAsync waits for the stream's
	// acknowledgement before its future fails with a timeout (the event may
	// or may not be stored). Default: DefaultAsyncEmitTimeout.
	AsyncEmitTimeout time.Duration

	// Middleware wraps every single-event handler (On, OnRequest,
	// OnDurable), the first element outermost.
	Middleware []Middleware

	// OnError is called with every error the worker reports but cannot
	// return: handler failures (*HandlerError), invalid messages
	// (ErrInvalidMessage), slow consumers and other asynchronous NATS
	// errors. It must not block. Default: none (errors are still logged).
	OnError func(error)

	// OnSend is called for every event the worker is about to send (emits,
	// requests and replies), with the call's context, before the event is
	// encoded: it may add extensions to s.Event (trace context, correlation
	// ids), and must not keep s.Event, which is reused. The func it returns,
	// if not nil, is called with the send's outcome. Default: none.
	OnSend func(ctx context.Context, s Send) (done func(err error))

	// OnDeadLetter is called after a durable handler's event was stored in
	// the dead-letter stream, with the event and the reason. It must not
	// block. Default: none (dead letters are still logged and counted).
	OnDeadLetter func(ev *Event, reason string)

	// OnDisconnect is called when the connection to the server is lost;
	// err may be nil. The worker reconnects by itself. Default: none.
	OnDisconnect func(err error)

	// OnReconnect is called when the worker has reconnected, with the URL of
	// the server it is connected to. Default: none.
	OnReconnect func(url string)
}

// Send is what an OnSend hook sees of an event about to be sent.
type Send struct {
	Kind SendKind
	// Event is the event, before encoding.
	Event *codec.Event
	// Subject is the NATS subject it goes to (a reply inbox for a reply).
	Subject string
	// Target is the service it goes to, "all" for a broadcast, or the
	// requesting service for a reply.
	Target string
}

// SendKind says what kind of event an OnSend hook sees.
type SendKind uint8

// The kinds of events a worker sends.
const (
	SendEvent   SendKind = iota // Emit, EmitAsync, TryEmit
	SendRequest                 // Request
	SendReply                   // a responder's reply
)

// String returns "event", "request" or "reply".
func (k SendKind) String() string {
	switch k {
	case SendRequest:
		return "request"
	case SendReply:
		return "reply"
	default:
		return "event"
	}
}

func (c Config) withDefaults() Config {
	if len(c.Servers) == 0 {
		c.Servers = []string{nats.DefaultURL}
	}
	c.Namespace = cmp.Or(c.Namespace, subjects.DefaultNamespace)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, DefaultConnectTimeout)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.AsyncEmitTimeout = cmp.Or(c.AsyncEmitTimeout, DefaultAsyncEmitTimeout)
	c.MaxPendingEmits = cmp.Or(c.MaxPendingEmits, DefaultMaxPendingEmits)
	return c
}

func (c Config) validate() error {
	if c.Service == "" {
		return errors.New("mesh: Config.Service is required: name the service, e.g. \"exprsn-timeline\"")
	}
	if err := subjects.ValidateService(c.Service); err != nil {
		return fmt.Errorf("mesh: Config.Service: %w", err)
	}
	if err := subjects.ValidateNamespace(c.Namespace); err != nil {
		return fmt.Errorf("mesh: Config.Namespace: %w", err)
	}
	if c.MaxConcurrent < 0 {
		return fmt.Errorf("mesh: Config.MaxConcurrent is %d; want a positive number (0 means %d)", c.MaxConcurrent, DefaultMaxConcurrent)
	}
	if c.MaxPendingEmits < 0 {
		return fmt.Errorf("mesh: Config.MaxPendingEmits is %d; want a positive number (0 means %d)", c.MaxPendingEmits, DefaultMaxPendingEmits)
	}
	if c.Stream.Manage && (c.Stream.Disable || c.Stream.Provisioned) {
		return errors.New("mesh: Config.Stream: Manage excludes Disable and Provisioned")
	}
	if c.Encoding != codec.Structured && c.Encoding != codec.Binary {
		return fmt.Errorf("mesh: Config.Encoding %d is neither codec.Structured nor codec.Binary", c.Encoding)
	}
	return nil
}

// StreamConfig says how a worker uses its namespace's JetStream streams:
// the event stream, which keeps every event sent in the namespace, and the
// dead-letter stream (see package streams).
//
// By default a worker uses the streams if they exist and leaves their
// creation to operators (streams.Ensure; meshctl serve calls it). With
// Manage it creates them, or updates them to Config, at Connect. With
// Disable it never uses them: emits are core NATS only and durable
// handlers are refused.
type StreamConfig struct {
	// Manage creates or updates the streams at Connect. Default: false.
	Manage bool
	// Provisioned says that the operator creates and updates the
	// namespace's JetStream resources (meshctl setup, or the setup
	// package), as least-privilege credentials require (see
	// docs/security.md): the worker then creates and updates none. A
	// durable handler uses the consumer the operator created for it and
	// fails at registration when there is none, or when it delivers other
	// events than the handler expects; other differences from the
	// handler's options are reported, and the operator's settings apply.
	// The idempotency guard uses the service's bucket as it is. It cannot
	// be set with Manage. Default: false, the worker creates its
	// consumers (and buckets) and updates them to its options.
	Provisioned bool
	// Disable makes the worker ignore the streams. Default: false.
	Disable bool
	// Config is how the streams keep events, for Manage.
	streams.Config
}
