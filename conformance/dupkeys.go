package conformance

import (
	"encoding/base64"
	"fmt"
)

// DuplicateKeyFile is the file of duplicate-key vectors.
const DuplicateKeyFile = "duplicate-keys.json"

// DuplicateKeyLen is the length of every duplicate key: 16 bytes in
// unpadded base64url.
const DuplicateKeyLen = 22

// DuplicateKeyVector is one duplicate-key vector: the Nats-Msg-Id header
// (Key) a sender sets when it publishes the event (Source, ID) to the
// namespace's event stream. Key is the unpadded base64url encoding of the
// first 16 bytes of the SHA-256 of the decimal byte length of Source in
// UTF-8, ':', Source and ID.
type DuplicateKeyVector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Source      string `json:"source"`
	ID          string `json:"id"`
	Key         string `json:"key"`
}

// DuplicateKeys returns the duplicate-key vectors of DuplicateKeyFile,
// checked for the shape DuplicateKeyVector documents.
func DuplicateKeys() ([]DuplicateKeyVector, error) {
	vs, err := load[DuplicateKeyVector](Files, DuplicateKeyFile)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, v := range vs {
		if err := v.check(); err != nil {
			return nil, fmt.Errorf("conformance: %s: vector %q: %w", DuplicateKeyFile, v.Name, err)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("conformance: %s: vector name %q used twice", DuplicateKeyFile, v.Name)
		}
		seen[v.Name] = true
	}
	return vs, nil
}

func (v *DuplicateKeyVector) check() error {
	if v.Name == "" || v.Description == "" {
		return fmt.Errorf("name and description are required")
	}
	if len(v.Key) != DuplicateKeyLen {
		return fmt.Errorf("key %q: want %d characters", v.Key, DuplicateKeyLen)
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(v.Key); err != nil {
		return fmt.Errorf("key %q: not unpadded base64url: %w", v.Key, err)
	}
	return nil
}
