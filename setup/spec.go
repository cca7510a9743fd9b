package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// Spec is a namespace's setup: its streams and its services.
type Spec struct {
	// Namespace is the namespace. Default: subjects.DefaultNamespace.
	Namespace string `json:"namespace,omitempty"`
	// Streams says how the namespace's streams keep events.
	Streams Streams `json:"streams,omitzero"`
	// Services are the namespace's services, each named once.
	Services []Service `json:"services"`
	// Browsers are the web pages' users that read the mesh straight from
	// NATS over WebSocket (meshctl serve --websocket), each named unlike
	// any service. Default: none.
	Browsers []permissions.Browser `json:"browsers,omitempty"`
}

// Streams is streams.Config in a spec; zero fields mean its defaults.
type Streams struct {
	MaxAge           Duration `json:"max_age,omitzero"`
	MaxBytes         int64    `json:"max_bytes,omitempty"`
	Replicas         int      `json:"replicas,omitempty"`
	DuplicateWindow  Duration `json:"duplicate_window,omitzero"`
	DeadLetterMaxAge Duration `json:"dead_letter_max_age,omitzero"`
	// Memory keeps the streams in memory instead of files.
	Memory bool `json:"memory,omitempty"`
}

// Config returns s as a streams.Config.
func (s Streams) Config() streams.Config {
	c := streams.Config{
		MaxAge: time.Duration(s.MaxAge), MaxBytes: s.MaxBytes, Replicas: s.Replicas,
		DuplicateWindow: time.Duration(s.DuplicateWindow), DeadLetterMaxAge: time.Duration(s.DeadLetterMaxAge),
	}
	if s.Memory {
		c.Storage = jetstream.MemoryStorage
	}
	return c
}

// Service is one service of a spec: what permissions.Service says, with
// its durable handlers' options.
type Service struct {
	Name string `json:"name"`
	// Durable are the service's durable handlers.
	Durable []Handler `json:"durable,omitempty"`
	// IdempotencyGuard gives the service its idempotency bucket, which
	// remembers handled events for GuardTTL (idempotency.DefaultTTL if 0).
	IdempotencyGuard bool     `json:"idempotency_guard,omitempty"`
	GuardTTL         Duration `json:"guard_ttl,omitzero"`
	// OncePerService, Schedules, SharedInbox, Edge, SigningKeys and
	// PublishesSigningKeys are as in permissions.Service.
	OncePerService       []string           `json:"once_per_service,omitempty"`
	Schedules            bool               `json:"schedules,omitempty"`
	SharedInbox          bool               `json:"shared_inbox,omitempty"`
	Edge                 []permissions.Feed `json:"edge,omitempty"`
	SigningKeys          bool               `json:"signing_keys,omitempty"`
	PublishesSigningKeys bool               `json:"publishes_signing_keys,omitempty"`
}

// Handler is a durable handler: its event pattern and the options that
// shape its consumer, each zero for the mesh's default.
type Handler struct {
	// Event is the pattern the handler registers with.
	Event string `json:"event"`
	// Name is its mesh.DurableName, if it has one.
	Name string `json:"name,omitempty"`
	// MaxDeliver, AckWait, Prefetch and Concurrency are the options of the
	// same names.
	MaxDeliver  int      `json:"max_deliver,omitempty"`
	AckWait     Duration `json:"ack_wait,omitzero"`
	Prefetch    int      `json:"prefetch,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	// OrderedByKey is mesh.OrderedByKey.
	OrderedByKey bool `json:"ordered_by_key,omitempty"`
	// Start is where a new consumer starts: "new" (the default) or
	// "first" (mesh.StartAtNew, mesh.StartAtFirst).
	Start string `json:"start,omitempty"`
	// InactiveExpiry is mesh.InactiveExpiry.
	InactiveExpiry Duration `json:"inactive_expiry,omitzero"`
}

// Options returns the mesh options that h describes: register the handler
// with them (plus any that do not shape the consumer, such as Use or
// Backoff) so that it finds the consumer Apply made as it expects.
func (h Handler) Options() []mesh.DurableOption {
	var opts []mesh.DurableOption
	if h.Name != "" {
		opts = append(opts, mesh.DurableName(h.Name))
	}
	if h.MaxDeliver != 0 {
		opts = append(opts, mesh.MaxDeliver(h.MaxDeliver))
	}
	if h.AckWait != 0 {
		opts = append(opts, mesh.AckWait(time.Duration(h.AckWait)))
	}
	if h.Prefetch != 0 {
		opts = append(opts, mesh.Prefetch(h.Prefetch))
	}
	if h.Concurrency != 0 {
		opts = append(opts, mesh.Concurrency(h.Concurrency))
	}
	if h.OrderedByKey {
		opts = append(opts, mesh.OrderedByKey())
	}
	if h.Start == "first" {
		opts = append(opts, mesh.StartAtFirst())
	}
	if h.InactiveExpiry != 0 {
		opts = append(opts, mesh.InactiveExpiry(time.Duration(h.InactiveExpiry)))
	}
	return opts
}

// Validate checks the spec: valid and distinct names, known start
// positions.
func (s Spec) Validate() error {
	if err := subjects.ValidateNamespace(s.namespace()); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if len(s.Services) == 0 {
		return errors.New("setup: the spec has no services")
	}
	for _, svc := range s.Services {
		for _, h := range svc.Durable {
			if h.Start != "" && h.Start != "new" && h.Start != "first" {
				return fmt.Errorf("setup: %s: durable %q: start %q: want \"new\" or \"first\"", svc.Name, h.Event, h.Start)
			}
		}
	}
	if _, err := s.Users(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	return nil
}

func (s Spec) namespace() string {
	if s.Namespace == "" {
		return subjects.DefaultNamespace
	}
	return s.Namespace
}

// Users returns the namespace's NATS users: one per service with the
// least privilege its spec needs, then the operator (see
// permissions.ForServices), then one per browser (permissions.ForBrowser).
func (s Spec) Users() ([]permissions.User, error) {
	services := make([]permissions.Service, len(s.Services))
	for i, svc := range s.Services {
		p := permissions.Service{Name: svc.Name, IdempotencyGuard: svc.IdempotencyGuard,
			OncePerService: svc.OncePerService, Schedules: svc.Schedules, SharedInbox: svc.SharedInbox,
			Edge: svc.Edge, SigningKeys: svc.SigningKeys, PublishesSigningKeys: svc.PublishesSigningKeys}
		for _, h := range svc.Durable {
			if h.Name != "" {
				p.DurableNames = append(p.DurableNames, h.Name)
			} else {
				p.Durable = append(p.Durable, h.Event)
			}
		}
		services[i] = p
	}
	users, err := permissions.ForServices(s.namespace(), services...)
	if err != nil {
		return nil, err
	}
	for _, b := range s.Browsers {
		if slices.ContainsFunc(s.Services, func(svc Service) bool { return svc.Name == b.Name }) {
			return nil, fmt.Errorf("browser %q: named like a service; give it a name of its own", b.Name)
		}
		u, err := permissions.ForBrowser(s.namespace(), b)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// Load reads a JSON spec from path and validates it. Unknown fields are
// errors, so that a misspelt option is not silently ignored.
func Load(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("setup: %w", err)
	}
	return Parse(b)
}

// Parse decodes a JSON spec and validates it (see Load).
func Parse(b []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("setup: spec: %w", err)
	}
	return s, s.Validate()
}

// Duration is a time.Duration written in JSON as a string ("30s", "72h").
type Duration time.Duration

// MarshalJSON writes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
