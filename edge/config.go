package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
)

// Defaults of Config.
const (
	// DefaultHeartbeat is how often a comment line keeps an idle stream
	// open through proxies that close silent connections.
	DefaultHeartbeat = 15 * time.Second
	// DefaultBufferSize is how many events a connection may fall behind
	// the mesh before it is dropped as slow.
	DefaultBufferSize = 256
	// DefaultBufferBytes bounds the bytes of the SSE messages a connection
	// may fall behind by (one message, however large, is always let in).
	DefaultBufferBytes = 1 << 20
	// DefaultMaxConnections bounds the browsers connected to one Handler.
	DefaultMaxConnections = 10_000
	// DefaultRetryAfter is the Retry-After of a 503 answer.
	DefaultRetryAfter = 5 * time.Second
	// DefaultWriteTimeout bounds one write to a browser; a browser that
	// takes longer to read is dropped.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxResume bounds how far back a Last-Event-ID may resume, in
	// event-stream sequences.
	DefaultMaxResume = 100_000
)

// Filter says whether a browser may see an event. It is called on the
// browser's connection goroutine, once per event the handler receives,
// with a *mesh.Event shared by every connection: treat it as read-only.
// It must not block; a slow Filter makes its own browser fall behind (and
// be dropped), never the others. A nil Filter lets every event through.
type Filter func(ev *mesh.Event) bool

// Authorize decides, once per request, whether the browser may connect and
// which events it may see. Returning an error refuses the request: 401 for
// an error matching ErrUnauthorized, 403 for ErrForbidden, and 503 with
// Retry-After for any other error (a failure to decide, such as a session
// store that does not answer), which is logged.
type Authorize func(r *http.Request) (Filter, error)

// Errors an Authorize returns to refuse a request.
var (
	// ErrUnauthorized refuses a request that says nothing of who it is
	// (no or an expired session): 401.
	ErrUnauthorized = errors.New("edge: unauthorized")
	// ErrForbidden refuses a request whose user may not use the stream: 403.
	ErrForbidden = errors.New("edge: forbidden")
)

// Public is an Authorize that lets every request see every event: for feeds
// that are public anyway, such as new posts. Say so explicitly; the Handler
// has no default.
func Public(*http.Request) (Filter, error) { return nil, nil }

// Config configures a Handler. The zero value of every field but Events and
// Authorize means its default.
type Config struct {
	// Events are the mesh patterns of the events served ("post:created",
	// "presence:*", "notification:>"; see subjects.Filter). Required. Two
	// patterns one event can match both ("post:*" and "post:created") are
	// refused: keep the wider one.
	Events []string

	// Targets are the targets whose events are served: subjects.Broadcast
	// for broadcasts, a service name for the events sent to that service,
	// "*" for every target. Every instance of the service serves every
	// matching event to its own browsers (there is no queue group).
	// Default: broadcasts and the events sent to the worker's own service,
	// as Worker.On receives them.
	Targets []string

	// Authorize decides per request who may connect and which events each
	// browser sees. Required: use Public for public feeds.
	Authorize Authorize

	// Heartbeat is the interval of the comment lines sent to every
	// browser. Default: DefaultHeartbeat.
	Heartbeat time.Duration

	// BufferSize is how many events, authorised or not, a connection may
	// hold that its browser has not been sent yet; one more and the
	// browser is dropped with the reason "slow". Each slot is a pointer to
	// a message shared by every connection. Default: DefaultBufferSize.
	BufferSize int

	// BufferBytes bounds the bytes of the messages a connection holds, as
	// BufferSize bounds their number. Default: DefaultBufferBytes.
	BufferBytes int

	// MaxConnections bounds the open streams; further requests get 503
	// with Retry-After. Default: DefaultMaxConnections.
	MaxConnections int

	// RetryAfter is the Retry-After of a 503 answer. Default:
	// DefaultRetryAfter.
	RetryAfter time.Duration

	// WriteTimeout bounds each write to a browser; past it the browser is
	// dropped with the reason "write_timeout". Default: DefaultWriteTimeout.
	WriteTimeout time.Duration

	// MaxResume bounds a resume: when the Last-Event-ID is more than
	// MaxResume sequences behind the event stream, the browser resumes
	// MaxResume sequences back and is first sent a GapEvent. Default:
	// DefaultMaxResume.
	MaxResume uint64

	// Logger receives the handler's logs. Default: the worker's logger.
	Logger *slog.Logger
}

// withDefaults returns cfg with its defaults filled in for w, or an error
// saying what is missing or wrong.
func (cfg Config) withDefaults(w *mesh.Worker) (Config, error) {
	if w == nil {
		return cfg, errors.New("edge: no worker")
	}
	if cfg.Authorize == nil {
		return cfg, errors.New("edge: Config.Authorize is required (edge.Public serves every event to everyone)")
	}
	if len(cfg.Events) == 0 {
		return cfg, errors.New("edge: Config.Events names no pattern")
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{subjects.Broadcast, w.Service()}
	}
	setDefault(&cfg.Heartbeat, DefaultHeartbeat)
	setDefault(&cfg.BufferSize, DefaultBufferSize)
	setDefault(&cfg.BufferBytes, DefaultBufferBytes)
	setDefault(&cfg.MaxConnections, DefaultMaxConnections)
	setDefault(&cfg.RetryAfter, DefaultRetryAfter)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDefault(&cfg.MaxResume, DefaultMaxResume)
	if cfg.Logger == nil {
		cfg.Logger = w.Logger()
	}
	return cfg, nil
}

func setDefault[T int | uint64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// filters returns the NATS subject filters of cfg's targets and patterns in
// namespace ns, refusing overlapping ones: a core subscription would
// deliver an event twice, and JetStream refuses such a consumer.
func (cfg Config) filters(ns string) ([]string, error) {
	var out []string
	for _, target := range cfg.Targets {
		for _, pattern := range cfg.Events {
			f, err := subjects.Filter(ns, target, pattern)
			if err != nil {
				return nil, fmt.Errorf("edge: %w", err)
			}
			for _, g := range out {
				if overlap(f, g) {
					return nil, fmt.Errorf("edge: filters %q and %q overlap: keep the wider pattern or target", g, f)
				}
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// overlap reports whether some subject matches both NATS filters a and b.
func overlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(at) && i < len(bt); i++ {
		switch {
		case at[i] == ">" || bt[i] == ">":
			return true
		case at[i] != bt[i] && at[i] != "*" && bt[i] != "*":
			return false
		}
	}
	return len(at) == len(bt)
}
