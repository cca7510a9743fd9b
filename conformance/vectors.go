package conformance

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"
)

// Files holds the vector files of this directory: the *.json vectors and
// README.md.
//
//go:embed *.json README.md
var Files embed.FS

// EnvelopeFiles are the files of envelope vectors, in the order Envelopes
// reads them.
var EnvelopeFiles = []string{"structured-valid.json", "structured-malformed.json", "structured-invalid.json", "binary.json"}

// SubjectFile is the file of subject vectors.
const SubjectFile = "subjects.json"

// ErrorClass names the kind of refusal an invalid envelope must produce. The
// classes are those of the Go codec's sentinel errors.
type ErrorClass string

// The error classes of envelope vectors.
const (
	// Malformed: the body is not exactly one JSON object (empty, truncated,
	// not JSON, trailing data, a member given twice).
	Malformed ErrorClass = "malformed"
	// MissingAttribute: specversion, id, source or type is absent, null or
	// empty.
	MissingAttribute ErrorClass = "missing_attribute"
	// SpecVersion: specversion is a string other than "1.0".
	SpecVersion ErrorClass = "specversion"
	// InvalidUTF8: a string (attribute, key or data) is not valid UTF-8,
	// including an escaped lone UTF-16 surrogate.
	InvalidUTF8 ErrorClass = "invalid_utf8"
	// InvalidAttribute: an attribute has a value of the wrong form (a time
	// that is not RFC 3339, a bad extension name, a value of the wrong JSON
	// type, bad percent-encoding or base64, both data and data_base64, a
	// header given twice).
	InvalidAttribute ErrorClass = "invalid_attribute"
)

// Envelope is one envelope vector: a NATS message and what it means.
// Exactly one of Event and Error is set, and exactly one of Body and
// BodyBase64.
type Envelope struct {
	// File is the vector file the vector was read from (not in the JSON).
	File string `json:"-"`
	// Name identifies the vector; names are unique across the files.
	Name string `json:"name"`
	// Description says what the vector shows and why.
	Description string `json:"description"`
	// Subject is the NATS subject the message arrives on.
	Subject string `json:"subject"`
	// Headers are the message's NATS headers, names as sent (receivers
	// match ce-* and Content-Type names case-insensitively); nil for none.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is the message body when it is valid UTF-8.
	Body *string `json:"body,omitempty"`
	// BodyBase64 is the message body, standard base64, when it is not
	// valid UTF-8.
	BodyBase64 *string `json:"body_base64,omitempty"`
	// Event is the CloudEvent the message means, for a valid vector.
	Event *Event `json:"event,omitempty"`
	// Error is the refusal an invalid message must produce.
	Error ErrorClass `json:"error,omitempty"`
	// Canonical marks a vector whose message is exactly what a Go worker
	// writes for Event: in structured mode the body, byte for byte; in
	// binary mode the headers and the body.
	Canonical bool `json:"canonical,omitempty"`
}

// Message returns the body's bytes.
func (v *Envelope) Message() ([]byte, error) {
	switch {
	case v.Body != nil && v.BodyBase64 == nil:
		return []byte(*v.Body), nil
	case v.BodyBase64 != nil && v.Body == nil:
		return base64.StdEncoding.DecodeString(*v.BodyBase64)
	}
	return nil, fmt.Errorf("conformance: vector %q: want exactly one of body and body_base64", v.Name)
}

// Event is a CloudEvent as a vector states it. Empty strings are absent
// attributes. Data is either JSON (Data, compared as JSON values) or bytes
// (DataBase64, compared byte for byte); neither means no data.
type Event struct {
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	DataContentType string `json:"datacontenttype,omitempty"`
	DataSchema      string `json:"dataschema,omitempty"`
	Subject         string `json:"subject,omitempty"`
	// Time is RFC 3339; compare instants, not text.
	Time string `json:"time,omitempty"`
	// Extensions are the extension attributes with their string values,
	// in the order an encoder writes them.
	Extensions Extensions `json:"extensions,omitempty"`
	// Data is the event's data when it is JSON, as its JSON text.
	Data json.RawMessage `json:"data,omitempty"`
	// DataBase64 is the event's data as bytes, standard base64; "" is
	// present but empty data.
	DataBase64 *string `json:"data_base64,omitempty"`
}

// ParsedTime returns Time as a time.Time; the zero Time if absent.
func (e *Event) ParsedTime() (time.Time, error) {
	if e.Time == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, e.Time)
}

// DataBytes returns the data's bytes: the JSON text of Data, or the decoded
// DataBase64; nil when the event has no data.
func (e *Event) DataBytes() ([]byte, error) {
	switch {
	case e.Data != nil && e.DataBase64 != nil:
		return nil, errors.New("conformance: an event has data or data_base64, not both")
	case e.Data != nil:
		return e.Data, nil
	case e.DataBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*e.DataBase64)
		if b == nil && err == nil {
			b = []byte{}
		}
		return b, err
	}
	return nil, nil
}

// Extension is one extension attribute of an Event.
type Extension struct {
	Name  string
	Value string
}

// Extensions are written in JSON as an object of string values; unlike a
// map they keep the members' order.
type Extensions []Extension

// UnmarshalJSON reads an object of string values, keeping their order.
func (x *Extensions) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("conformance: extensions: want an object of strings")
	}
	*x = nil
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("conformance: extension %v: want a string value: %w", t, err)
		}
		*x = append(*x, Extension{Name: t.(string), Value: v})
	}
	return nil
}

// MarshalJSON writes the extensions as an object, in order.
func (x Extensions) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range x {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(e.Name)
		v, _ := json.Marshal(e.Value)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// file is the layout of every vector file.
type file[V any] struct {
	Description string `json:"description"`
	Vectors     []V    `json:"vectors"`
}

func load[V any](fsys fs.FS, name string) ([]V, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f file[V]
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("conformance: %s: %w", path.Base(name), err)
	}
	return f.Vectors, nil
}

// Envelopes returns the envelope vectors of every file in EnvelopeFiles,
// checked for the shape Envelope documents.
func Envelopes() ([]Envelope, error) {
	var all []Envelope
	seen := map[string]bool{}
	for _, name := range EnvelopeFiles {
		vs, err := load[Envelope](Files, name)
		if err != nil {
			return nil, err
		}
		for i := range vs {
			v := &vs[i]
			v.File = name
			if err := v.check(); err != nil {
				return nil, fmt.Errorf("conformance: %s: %w", name, err)
			}
			if seen[v.Name] {
				return nil, fmt.Errorf("conformance: %s: vector name %q used twice", name, v.Name)
			}
			seen[v.Name] = true
		}
		all = append(all, vs...)
	}
	return all, nil
}

func (v *Envelope) check() error {
	if v.Name == "" || v.Description == "" || v.Subject == "" {
		return fmt.Errorf("vector %q: name, description and subject are required", v.Name)
	}
	if _, err := v.Message(); err != nil {
		return err
	}
	if (v.Event == nil) == (v.Error == "") {
		return fmt.Errorf("vector %q: want exactly one of event and error", v.Name)
	}
	switch v.Error {
	case "", Malformed, MissingAttribute, SpecVersion, InvalidUTF8, InvalidAttribute:
	default:
		return fmt.Errorf("vector %q: unknown error class %q", v.Name, v.Error)
	}
	if v.Event == nil {
		return nil
	}
	if _, err := v.Event.ParsedTime(); err != nil {
		return fmt.Errorf("vector %q: %w", v.Name, err)
	}
	if _, err := v.Event.DataBytes(); err != nil {
		return fmt.Errorf("vector %q: %w", v.Name, err)
	}
	return nil
}
