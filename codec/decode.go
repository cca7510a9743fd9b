package codec

import (
	"encoding/base64"
	"strconv"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec/internal/jsonscan"
	"github.com/exprsn/ipcmesh/codec/internal/rfc3339"
)

// Decode decodes the CloudEvent carried by a NATS message's header h and body
// into ev, overwriting every field of ev and reusing the backing array of
// ev.Extensions (so do not share it with another Event).
//
// The message is in binary mode if h has a ce-specversion header (names are
// matched case-insensitively); otherwise it is in structured mode, whatever
// its Content-Type (sdk-go's NATS sender sends no header at all).
//
// Data that came as data_base64, or as a binary-mode body that is not valid
// JSON, is binary ([Event.DataBase64]), never taken for JSON; so every event
// Decode accepts can be encoded again in either mode (it is valid), with the
// same data bytes.
//
// In structured mode, ev's strings are substrings of one copy of body made
// per call, and ev.Data is a sub-slice of body itself (JSON data, and string
// data without escapes) or a new slice (data_base64, escaped string data). In
// binary mode ev.Data is body itself (nil if body is empty) and extensions are
// sorted by name. So ev.Data must be copied if body will be reused.
//
// On error, which is an [*Error] wrapping one of the sentinel errors, ev's
// contents are unspecified.
func Decode(h nats.Header, body []byte, ev *Event) error {
	if isBinary(h) {
		return decodeBinary(h, body, ev)
	}
	return decodeStructured(body, ev, false)
}

// DecodeOwned is Decode for a body that is never modified after the call:
// ev's strings share body's memory instead of a copy of it, which saves an
// allocation and a copy per event. nats.go gives every received message a
// body of its own, so a subscriber may pass msg.Data when nothing else
// writes to it. ev.Data may still be written to: it never overlaps the
// attributes.
func DecodeOwned(h nats.Header, body []byte, ev *Event) error {
	if isBinary(h) {
		return decodeBinary(h, body, ev)
	}
	return decodeStructured(body, ev, true)
}

// DecodeMsg decodes the CloudEvent in msg into ev; see [Decode].
func DecodeMsg(msg *nats.Msg, ev *Event) error {
	if msg == nil {
		return NewError(ErrMalformed, "", "nil message")
	}
	return Decode(msg.Header, msg.Data, ev)
}

func resetEvent(ev *Event) {
	exts := ev.Extensions
	clear(exts) // drop references to the strings of the previous event
	*ev = Event{Extensions: exts[:0]}
}

func wrongSpecVersion(v string) error {
	if v == "" {
		return missing("specversion")
	}
	return NewError(ErrSpecVersion, "specversion", "got "+quote(v)+", want \""+SpecVersion+"\"")
}

// parseTime parses the time attribute, in RFC 3339. The canonical UTC form
// the encoder writes takes a fast path.
func parseTime(v string) (time.Time, error) {
	if t, ok := rfc3339.ParseCanonicalUTC(v); ok {
		return t, nil
	}
	t, ok := rfc3339.Parse(v)
	if !ok {
		return time.Time{}, NewError(ErrInvalidAttribute, "time", "not RFC 3339: "+quote(v))
	}
	return t, nil
}

// checkRequired checks the required attributes after decoding.
func checkRequired(ev *Event, haveSpecVersion bool) error {
	switch {
	case !haveSpecVersion:
		return missing("specversion")
	case ev.ID == "":
		return missing("id")
	case ev.Source == "":
		return missing("source")
	case ev.Type == "":
		return missing("type")
	}
	return nil
}

func duplicate(key string) error {
	return NewError(ErrMalformed, key, "key given more than once")
}

// scanError turns an error of package jsonscan into an *Error: ErrInvalidUTF8
// for a string that is not valid UTF-8, else ErrMalformed, with the scanner's
// reason. It returns any other error, nil included, as is. It is kept out of
// line, so that the decoder's error paths stay calls.
//
//go:noinline
func scanError(err error) error {
	e, ok := err.(*jsonscan.Error)
	if !ok {
		return err
	}
	if e.BadUTF8 {
		return NewError(ErrInvalidUTF8, "", e.Reason)
	}
	return NewError(ErrMalformed, "", e.Reason)
}

// malformed, truncated and unexpected report a body that is not a JSON
// object, in the scanner's words.
func malformed(i int, what string) error { return scanError(jsonscan.Malformed(i, what)) }

func truncated(i int) error { return scanError(jsonscan.Truncated(i)) }

func unexpected(s string, i int, want string) error {
	return scanError(jsonscan.Unexpected(s, i, want))
}

// decodeStructured decodes a JSON event format body. ev's strings share one
// copy of body, or body itself if owned.
func decodeStructured(body []byte, ev *Event, owned bool) error {
	resetEvent(ev)
	var s string
	if owned {
		// Shares body's memory, which DecodeOwned's caller promises never
		// to modify.
		s = unsafe.String(unsafe.SliceData(body), len(body))
	} else {
		s = string(body) // the one copy that ev's strings share
	}
	i := jsonscan.SkipWS(s, 0)
	if i == len(s) {
		return NewError(ErrMalformed, "", "empty body")
	}
	if s[i] != '{' {
		return malformed(i, "not a JSON object: starts with "+strconv.QuoteRune(rune(s[i])))
	}
	var st structured
	i, err := st.readMembers(s, i+1, ev)
	if err != nil {
		return err
	}
	if i = jsonscan.SkipWS(s, i); i != len(s) {
		return malformed(i, "data after the end of the JSON object")
	}
	if err := checkRequired(ev, st.haveSpecVersion); err != nil {
		return err
	}
	switch {
	case st.seen&seenData != 0 && st.seen&seenDataBase64 != 0:
		return NewError(ErrInvalidAttribute, "data_base64", "both data and data_base64 are present")
	case st.seen&seenData != 0:
		return setData(ev, s, body, st.dataStart, st.dataEnd)
	case st.b64Set:
		if ev.Data, err = base64.StdEncoding.DecodeString(st.b64); err != nil {
			return NewError(ErrInvalidAttribute, "data_base64", "not standard base64: "+quote(st.b64))
		}
		// Binary data, whatever the content type says (JSON event format,
		// section 3.1); only an empty or JSON type needs saying so.
		ev.DataBase64 = dataIsJSON(ev.DataContentType)
	}
	return nil
}

// structured is what decodeStructured learns from the members of a body,
// besides the attributes it sets.
type structured struct {
	seen               uint16 // keys seen, null or not
	haveSpecVersion    bool
	dataStart, dataEnd int // span of "data" in s and body
	b64                string
	b64Set             bool // data_base64 is a string, not null
}

// readMembers reads the members of the JSON object whose '{' is just before
// s[i] into ev and st, and returns the index just past its '}'.
func (st *structured) readMembers(s string, i int, ev *Event) (int, error) {
	var err error
	i = jsonscan.SkipWS(s, i)
	if i < len(s) && s[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return 0, unexpected(s, i, "a string key")
		}
		var key string
		if key, _, i, err = readString(s, i); err != nil {
			return 0, err
		}
		i = jsonscan.SkipWS(s, i)
		if i >= len(s) || s[i] != ':' {
			return 0, unexpected(s, i, "':'")
		}
		i = jsonscan.SkipWS(s, i+1)
		if i >= len(s) {
			return 0, truncated(i)
		}
		var (
			bit uint16
			v   string
			set bool // v holds a string value (not null)
		)
		switch key {
		case "specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject":
			if v, set, i, err = readAttrString(s, i, key); err != nil {
				return 0, err
			}
			if bit, _, err = setCoreAttribute(ev, key, v, set); err != nil {
				return 0, err
			}
			if key == "specversion" {
				st.haveSpecVersion = set
			}
		case "data":
			bit, st.dataStart = seenData, i
			if i, err = jsonscan.SkipValue(s, i); err != nil {
				return 0, withAttr(scanError(err), key)
			}
			st.dataEnd = i
		case "data_base64":
			bit = seenDataBase64
			if st.b64, st.b64Set, i, err = readAttrString(s, i, key); err != nil {
				return 0, err
			}
		default:
			if i, err = readExtension(s, i, key, ev); err != nil {
				return 0, err
			}
		}
		if st.seen&bit != 0 {
			return 0, duplicate(key)
		}
		st.seen |= bit
		i = jsonscan.SkipWS(s, i)
		if i >= len(s) {
			return 0, truncated(i)
		}
		if s[i] == ',' {
			i = jsonscan.SkipWS(s, i+1)
			continue
		}
		if s[i] != '}' {
			return 0, unexpected(s, i, "',' or '}'")
		}
		return i + 1, nil
	}
}

// setData sets ev.Data from the "data" value at s[start:end] (and
// body[start:end]), once datacontenttype is known.
func setData(ev *Event, s string, body []byte, start, end int) error {
	raw := s[start:end]
	switch {
	case raw == "null":
		// Absent.
	case dataIsJSON(ev.DataContentType) || raw[0] != '"':
		// JSON data is sliced, never re-parsed or copied. Non-JSON data
		// should be a string (below); anything else is kept as its JSON
		// text, to be tolerant.
		ev.Data = body[start:end:end]
	default:
		// A string holding non-JSON data (sdk-go writes text/* so).
		if _, escaped, _ := jsonscan.ScanString(s, start); !escaped {
			ev.Data = body[start+1 : end-1 : end-1]
			return nil
		}
		data, err := jsonscan.Unescape(make([]byte, 0, end-start), raw[1:len(raw)-1])
		if err != nil {
			return withAttr(scanError(err), "data")
		}
		ev.Data = data
	}
	return nil
}

// readString reads the JSON string at s[i], returning its value (a substring
// of s unless it has escapes) and the index past it.
func readString(s string, i int) (v string, escaped bool, end int, err error) {
	if j := jsonscan.PlainEnd(s, i+1); j < len(s) && s[j] == '"' {
		return s[i+1 : j], false, j + 1, nil // ScanString's common case, in line
	} else if end, escaped, err = jsonscan.ScanSpecial(s, j); err != nil {
		return "", false, 0, scanError(err)
	}
	if !escaped {
		return s[i+1 : end-1], false, end, nil
	}
	b, err := jsonscan.Unescape(make([]byte, 0, end-i), s[i+1:end-1])
	if err != nil {
		return "", false, 0, scanError(err)
	}
	return string(b), true, end, nil
}

// readAttrString reads the value of a string attribute at s[i]: a string
// (set is true) or null (set is false, meaning absent).
func readAttrString(s string, i int, attr string) (v string, set bool, end int, err error) {
	switch s[i] {
	case '"':
		v, _, end, err = readString(s, i)
		if err != nil {
			return "", false, 0, withAttr(err, attr)
		}
		return v, true, end, nil
	case 'n':
		if end, err = jsonscan.ScanLiteral(s, i, "null"); err != nil {
			return "", false, 0, scanError(err)
		}
		return "", false, end, nil
	}
	return "", false, 0, wrongType(s, i, attr, "a string")
}

// wrongType reports a value at s[i] of the wrong JSON type for attr.
func wrongType(s string, i int, attr, want string) error {
	var got string
	switch c := s[i]; {
	case c == '{':
		got = "an object"
	case c == '[':
		got = "an array"
	case c == 't' || c == 'f':
		got = "a boolean"
	case c == '-' || jsonscan.IsDigit(c):
		got = "a number"
	default:
		return unexpected(s, i, "a JSON value")
	}
	return NewError(ErrInvalidAttribute, attr, "must be "+want+", not "+got)
}

// readExtension reads the extension attribute key whose value is at s[i] and
// appends it to ev.Extensions (unless null).
func readExtension(s string, i int, key string, ev *Event) (int, error) {
	if err := checkExtensionName(key); err != nil {
		return 0, err
	}
	if _, dup := ev.Extension(key); dup {
		return 0, duplicate(key)
	}
	var (
		v   string
		end int
		err error
	)
	switch c := s[i]; {
	case c == '"':
		v, _, end, err = readString(s, i)
		err = withAttr(err, key)
	case c == 't' || c == 'f' || c == '-' || jsonscan.IsDigit(c):
		// Numbers and booleans keep their literal text.
		if end, err = jsonscan.ScanScalar(s, i); err != nil {
			return 0, scanError(err)
		}
		v = s[i:end]
	case c == 'n':
		if end, err = jsonscan.ScanLiteral(s, i, "null"); err != nil {
			return 0, scanError(err)
		}
		return end, nil
	default:
		return 0, wrongType(s, i, key, "a string, number or boolean")
	}
	if err != nil {
		return 0, err
	}
	if len(ev.Extensions) == MaxExtensions {
		return 0, tooManyExtensions()
	}
	ev.Extensions = append(ev.Extensions, Extension{Name: key, Value: v})
	return end, nil
}

// setCoreAttribute sets the core attribute name of ev (any but data and
// data_base64) to v, shared by both decoders. present is false for a JSON
// null, which leaves the attribute absent. It returns the attribute's seen
// bit, and core false (and nothing set) when name is not a core attribute.
func setCoreAttribute(ev *Event, name, v string, present bool) (bit uint16, core bool, err error) {
	switch name {
	case "specversion":
		if present && v != SpecVersion {
			return 0, true, wrongSpecVersion(v)
		}
		return seenSpecVersion, true, nil
	case "id":
		ev.ID = v
		return seenID, true, nil
	case "source":
		ev.Source = v
		return seenSource, true, nil
	case "type":
		ev.Type = v
		return seenType, true, nil
	case "time":
		if present {
			if ev.Time, err = parseTime(v); err != nil {
				return 0, true, err
			}
		}
		return seenTime, true, nil
	case "datacontenttype":
		ev.DataContentType = v
		return seenDataContentType, true, nil
	case "dataschema":
		ev.DataSchema = v
		return seenDataSchema, true, nil
	case "subject":
		ev.Subject = v
		return seenSubject, true, nil
	}
	return 0, false, nil
}
