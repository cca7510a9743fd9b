package codec

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by this package for an invalid event
// or message is an [*Error] that wraps exactly one of them, so callers test
// the kind with errors.Is and read the details with errors.As.
var (
	// ErrMalformed reports a body that is not a single JSON object: empty,
	// truncated, not JSON, trailing bytes after the object, or a key given
	// twice.
	ErrMalformed = errors.New("codec: malformed CloudEvent")

	// ErrMissingAttribute reports that a required attribute (specversion, id,
	// source or type) is absent or empty.
	ErrMissingAttribute = errors.New("codec: missing required CloudEvents attribute")

	// ErrSpecVersion reports a specversion other than "1.0".
	ErrSpecVersion = errors.New("codec: unsupported CloudEvents specversion")

	// ErrInvalidUTF8 reports an attribute or JSON string that is not valid
	// UTF-8 (including an escaped lone UTF-16 surrogate in an attribute).
	ErrInvalidUTF8 = errors.New("codec: invalid UTF-8")

	// ErrInvalidAttribute reports an attribute with a value of the wrong form:
	// a time that is not RFC 3339, an invalid or reserved extension name, a
	// value of the wrong JSON type, invalid percent-encoding in a header, bad
	// base64 in data_base64, both data and data_base64, and similar.
	ErrInvalidAttribute = errors.New("codec: invalid CloudEvents attribute")

	// ErrInvalidData reports, on encode, data that is not valid JSON although
	// the event says it is (Event.DataIsJSON: a JSON or empty content type,
	// and DataBase64 not set). The decoder never returns it: data it cannot
	// read as JSON is binary data.
	ErrInvalidData = errors.New("codec: invalid event data")
)

// Error describes why an event could not be encoded or decoded. Err is one of
// the package's sentinel errors and is returned by Unwrap.
//
// The errors this package returns hold a bounded amount of the message they
// describe, however big it is: a name or value taken from it is cut to 64
// bytes (and marked "..."), so Error() stays well under 1 KiB and may be
// logged or reported as is.
type Error struct {
	// Attribute is the CloudEvents attribute concerned ("id", "time",
	// "data", an extension name), or empty when the problem is not tied to
	// one attribute (for example a truncated body). A name longer than 64
	// bytes (never a valid one) is cut and ends in "...".
	Attribute string
	// Reason says what is wrong, in words, e.g. `not RFC 3339: "yesterday"`;
	// any text of the message in it is quoted and cut as quote does.
	Reason string
	// Err is the sentinel that classifies the error (ErrMalformed, ...).
	Err error
}

// Error formats the error as
// `codec: invalid CloudEvent: attribute "time": not RFC 3339: "yesterday"`,
// leaving out the attribute part when Attribute is empty.
func (e *Error) Error() string {
	s := "codec: invalid CloudEvent: "
	if e.Attribute != "" {
		s += "attribute " + quote(e.Attribute) + ": "
	}
	if e.Reason != "" {
		return s + e.Reason
	}
	if e.Err != nil {
		return s + e.Err.Error()
	}
	return s + "unknown error"
}

// Unwrap returns the sentinel error e.Err.
func (e *Error) Unwrap() error { return e.Err }

// NewError returns an *Error of attribute attr, for reason, matching
// sentinel: attr may come from a hostile message and is cut to 64 bytes
// (no valid name is longer); reason must be bounded already. Packages that
// convert events to and from other forms (codec/cesdk) report their errors
// with it, in codec's words.
func NewError(sentinel error, attr, reason string) *Error {
	return &Error{Attribute: boundName(attr), Reason: reason, Err: sentinel}
}

// withAttr fills in the attribute of err if it is an *Error without one.
func withAttr(err error, attr string) error {
	if e, ok := err.(*Error); ok && e.Attribute == "" {
		e.Attribute = boundName(attr)
	}
	return err
}

// maxQuoted bounds how much of an offending value goes into an error message.
const maxQuoted = 64

// boundName returns an attribute name for Error.Attribute: name itself if
// at most maxQuoted bytes (every valid name is), else its first maxQuoted
// bytes, cut at a UTF-8 boundary, and "...".
func boundName(name string) string {
	if len(name) <= maxQuoted {
		return name
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n] + "..."
}

// quote renders an attribute name or value for an error message, shortened
// if long: both may come from a hostile message.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

func missing(attr string) error {
	return NewError(ErrMissingAttribute, attr, "required attribute is missing or empty")
}
