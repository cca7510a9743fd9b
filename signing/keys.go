package signing

import (
	"context"
	"fmt"
	"strings"

	"github.com/exprsn/ipcmesh/subjects"
)

// KeySet says which public NKeys may sign for each service.
type KeySet interface {
	// Keys returns the public NKeys published for service, a valid
	// service name: usually one, or several while the service rotates its
	// key. It returns an error matching ErrUnknownSigner when none is
	// published, and any other error when it cannot tell now (the verifier
	// then fails the event without marking it permanent, so that a durable
	// handler retries it). It may be called concurrently, with the context
	// of the event's handler; callers do not modify the slice.
	Keys(ctx context.Context, service string) ([]string, error)
}

// MaxKeysPerService bounds the public keys published for one service.
const MaxKeysPerService = 8

// Static is a KeySet fixed at construction, from the service's
// configuration.
type Static struct {
	keys map[string][]string
}

// StaticKeys returns the KeySet keys describes: service name -> its public
// NKey ("U..." or "A..."), or up to MaxKeysPerService of them separated by
// commas while a service rotates its key. It fails on an invalid service
// name or key. Static is safe for concurrent use; keys is copied.
func StaticKeys(keys map[string]string) (*Static, error) {
	s := &Static{keys: make(map[string][]string, len(keys))}
	for service, value := range keys {
		if err := subjects.ValidateService(service); err != nil {
			return nil, fmt.Errorf("signing: static keys: %w", err)
		}
		parsed, err := parseKeys(value)
		if err != nil {
			return nil, fmt.Errorf("signing: static keys of %q: %w", service, err)
		}
		s.keys[service] = parsed
	}
	return s, nil
}

// Keys returns the keys given for service, or an error matching
// ErrUnknownSigner.
func (s *Static) Keys(_ context.Context, service string) ([]string, error) {
	if keys, ok := s.keys[service]; ok {
		return keys, nil
	}
	return nil, unknownSigner(service)
}

// parseKeys parses a published value: one to MaxKeysPerService public
// user or account NKeys, separated by commas and optional spaces.
func parseKeys(value string) ([]string, error) {
	if len(value) > MaxKeysPerService*(KeyLen+2) {
		return nil, fmt.Errorf("%d bytes: at most %d keys may be published for a service", len(value), MaxKeysPerService)
	}
	parts := strings.Split(value, ",")
	if len(parts) > MaxKeysPerService {
		return nil, fmt.Errorf("%d keys: at most %d may be published for a service", len(parts), MaxKeysPerService)
	}
	keys := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !validKey(p) {
			return nil, fmt.Errorf("%q is not a public user (U...) or account (A...) NKey", p)
		}
		keys = append(keys, p)
	}
	return keys, nil
}

func unknownSigner(service string) error {
	return fmt.Errorf("%w: no key is published for %q", ErrUnknownSigner, service)
}
