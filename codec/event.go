package codec

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/codec/internal/jsonscan"
	"github.com/exprsn/ipcmesh/codec/internal/rfc3339"
)

// Wire constants.
const (
	// SpecVersion is the only CloudEvents specversion this package writes
	// and accepts.
	SpecVersion = "1.0"
	// ContentTypeStructured is the media type of a structured-mode event
	// (the JSON event format). The encoder does not send it on the live path;
	// the decoder does not require it.
	ContentTypeStructured = "application/cloudevents+json"
	// ContentTypeJSON is the media type of JSON event data.
	ContentTypeJSON = "application/json"
	// HeaderContentType is the NATS header that carries datacontenttype in
	// binary mode.
	HeaderContentType = "Content-Type"
	// HeaderPrefix prefixes the name of every binary-mode attribute header
	// (ce-id, ce-source, ...).
	HeaderPrefix = "ce-"
)

// Limits on extensions, enforced on encode and decode.
const (
	// MaxExtensionNameLen is the longest extension name accepted. The
	// CloudEvents specification recommends at most 20 characters; longer
	// names up to this limit are accepted for interoperability.
	MaxExtensionNameLen = 64
	// MaxExtensions is the largest number of extension attributes one event
	// may carry. It bounds the work a hostile message can cause.
	MaxExtensions = 128
)

// Event is one CloudEvent as it travels on the mesh.
//
// The zero value is not a valid event: ID, Source and Type are required. An
// Event is a plain value; it is not safe for concurrent mutation.
type Event struct {
	// ID identifies the event; required, non-empty.
	ID string
	// Source is the emitting service; required, non-empty.
	Source string
	// Type is the event name as emitted, e.g. "post:created"; required,
	// non-empty.
	Type string
	// Time is when the event happened; the zero Time means absent. It is
	// written in RFC 3339 with nanoseconds, keeping its zone offset (unless
	// RFC 3339 cannot state it, as for an offset with seconds: then in UTC),
	// so the year must lie in 0000..9999.
	Time time.Time
	// DataContentType is the media type of Data; empty means absent, and
	// Data (if any) is then JSON unless DataBase64 is set.
	DataContentType string
	// DataSchema is the URI of Data's schema; empty means absent.
	DataSchema string
	// Subject is the CloudEvents "subject" attribute (not the NATS subject);
	// empty means absent.
	Subject string
	// Data is the payload; nil means absent. For a JSON content type (or an
	// empty one) it is the JSON text itself, and JSON null decodes as absent,
	// unless DataBase64 is set. A decoded Data may alias the message body it
	// was decoded from. [Event.DataIsJSON] says which.
	Data []byte
	// DataBase64 marks Data as binary (opaque bytes, not JSON text) although
	// DataContentType is empty or a JSON type; for any other type Data is
	// binary anyway and DataBase64 is ignored. In the JSON event format
	// (section 3.1) binary data is what the data_base64 member carries,
	// whatever the content type: the decoder sets DataBase64 for
	// data_base64 under an empty or JSON content type, and for a binary-mode
	// body under such a type that is not valid JSON. Structured mode writes
	// such data in data_base64. Binary mode has no way to say it: a body
	// that is valid JSON reads back with DataBase64 false.
	DataBase64 bool
	// Extensions are the extension attributes, in the order they are
	// written. Names are lowercase ASCII letters and digits, 1 to
	// MaxExtensionNameLen long, distinct, and not a name of a core attribute.
	Extensions []Extension
}

// Extension is one CloudEvents extension attribute. Value is its canonical
// string form; extension values decoded from JSON numbers or booleans keep
// their literal text ("42", "true").
type Extension struct {
	Name  string
	Value string
}

// Extension returns the value of the extension called name and whether it is
// present.
func (e *Event) Extension(name string) (string, bool) {
	for i := range e.Extensions {
		if e.Extensions[i].Name == name {
			return e.Extensions[i].Value, true
		}
	}
	return "", false
}

// SetExtension sets the extension called name to value, replacing its value
// if present and appending it otherwise. It does not validate name; encoding
// and Validate do.
func (e *Event) SetExtension(name, value string) {
	for i := range e.Extensions {
		if e.Extensions[i].Name == name {
			e.Extensions[i].Value = value
			return
		}
	}
	e.Extensions = append(e.Extensions, Extension{Name: name, Value: value})
}

// DeleteExtension removes the extension called name, if present, keeping the
// order of the others.
func (e *Event) DeleteExtension(name string) {
	for i := range e.Extensions {
		if e.Extensions[i].Name == name {
			e.Extensions = append(e.Extensions[:i], e.Extensions[i+1:]...)
			return
		}
	}
}

// Validate reports whether e can be encoded in structured mode: ID, Source
// and Type are non-empty, every string is valid UTF-8, Time (if set) has a
// year in 0000..9999, extension names are valid, distinct, not reserved and
// at most MaxExtensions, and Data (if not nil) is valid JSON when
// [Event.DataIsJSON]. The error is an [*Error]. AppendStructured fails
// exactly when Validate does. Every event that Decode accepts is valid.
func (e *Event) Validate() error {
	if err := e.validateAttrs(); err != nil {
		return err
	}
	if e.Data != nil && e.DataIsJSON() && !jsonscan.Valid(e.Data) {
		return invalidData(e.Data)
	}
	return nil
}

// DataIsJSON reports whether e's Data is JSON text (travelling in "data" in
// structured mode) rather than binary (in "data_base64"): DataBase64 is
// false and DataContentType is empty or a JSON type ([IsJSONContentType]).
// Read data as JSON only when it reports true.
func (e *Event) DataIsJSON() bool {
	return !e.DataBase64 && dataIsJSON(e.DataContentType)
}

// validateAttrs checks everything Validate does except the data.
func (e *Event) validateAttrs() error {
	if e.ID == "" {
		return missing("id")
	}
	if e.Source == "" {
		return missing("source")
	}
	if e.Type == "" {
		return missing("type")
	}
	// The checks run in the order AppendStructured meets the attributes, so
	// both report the same error.
	for _, a := range [...]struct{ name, v string }{{"id", e.ID}, {"source", e.Source}, {"type", e.Type}} {
		if !utf8.ValidString(a.v) {
			return badUTF8(a.name, a.v)
		}
	}
	if err := checkTime(e.Time); err != nil {
		return err
	}
	for _, a := range [...]struct{ name, v string }{
		{"datacontenttype", e.DataContentType}, {"dataschema", e.DataSchema}, {"subject", e.Subject},
	} {
		if !utf8.ValidString(a.v) {
			return badUTF8(a.name, a.v)
		}
	}
	return checkExtensions(e.Extensions)
}

// checkTime checks that a non-zero t can be written in RFC 3339.
func checkTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := rfc3339.AsWritten(t).Year(); y < 0 || y > 9999 {
		return NewError(ErrInvalidAttribute, "time", "year "+strconv.Itoa(y)+" outside 0000..9999 cannot be written in RFC 3339")
	}
	return nil
}

func checkExtensions(exts []Extension) error {
	if len(exts) > MaxExtensions {
		return tooManyExtensions()
	}
	for i := range exts {
		x := &exts[i]
		if err := checkExtensionName(x.Name); err != nil {
			return err
		}
		for j := 0; j < i; j++ {
			if exts[j].Name == x.Name {
				return NewError(ErrInvalidAttribute, x.Name, "extension given twice")
			}
		}
		if !utf8.ValidString(x.Value) {
			return badUTF8(x.Name, x.Value)
		}
	}
	return nil
}

func tooManyExtensions() error {
	return NewError(ErrInvalidAttribute, "", "more than "+strconv.Itoa(MaxExtensions)+" extension attributes")
}

func badUTF8(attr, v string) error {
	return NewError(ErrInvalidUTF8, attr, "not valid UTF-8: "+quote(v))
}

func invalidData(data []byte) error {
	return NewError(ErrInvalidData, "data", "not valid JSON although the content type is JSON: "+quote(string(data)))
}

// ValidExtensionName reports whether name can be an extension attribute name:
// 1 to MaxExtensionNameLen lowercase ASCII letters and digits, and not the
// name of a core attribute (specversion, id, source, type, time,
// datacontenttype, dataschema, subject, data).
func ValidExtensionName(name string) bool {
	return checkExtensionName(name) == nil
}

func checkExtensionName(name string) error {
	if name == "" || len(name) > MaxExtensionNameLen {
		return NewError(ErrInvalidAttribute, name, "extension name must be 1 to "+strconv.Itoa(MaxExtensionNameLen)+" characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return NewError(ErrInvalidAttribute, name, "extension name must consist of lowercase ASCII letters and digits")
		}
	}
	if isCoreAttribute(name) {
		return NewError(ErrInvalidAttribute, name, "the name of a core attribute cannot be an extension")
	}
	return nil
}

func isCoreAttribute(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "data", "data_base64":
		return true
	}
	return false
}

// IsJSONContentType reports whether the media type ct denotes JSON:
// application/json, text/json, or any type with a +json suffix, compared
// case-insensitively, with parameters such as ";charset=utf-8" ignored. The
// empty string is not a JSON content type (although an event with no
// datacontenttype carries JSON data).
func IsJSONContentType(ct string) bool {
	if ct == ContentTypeJSON {
		return true // the common case, without trimming and folding
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/json") ||
		strings.EqualFold(ct, "text/json") ||
		(len(ct) > len("+json") && strings.EqualFold(ct[len(ct)-len("+json"):], "+json"))
}

// dataIsJSON reports whether data of content type ct travels as JSON text in
// "data" (true) or base64 in "data_base64" (false).
func dataIsJSON(ct string) bool {
	return ct == "" || IsJSONContentType(ct)
}

// Mode is a CloudEvents content mode on a NATS message.
type Mode uint8

const (
	// Structured puts the whole event in the body as one JSON object (the
	// JSON event format) and sets no header. It is the default.
	Structured Mode = iota
	// Binary puts the attributes in ce-* headers and Content-Type, and the
	// data, unchanged, in the body.
	Binary
)

// String returns "structured", "binary", or "Mode(n)" for an unknown mode.
func (m Mode) String() string {
	switch m {
	case Structured:
		return "structured"
	case Binary:
		return "binary"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}
