package codec

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec/internal/jsonscan"
	"github.com/exprsn/ipcmesh/codec/internal/pctenc"
)

// isBinary reports whether h holds a ce-specversion header, in any case.
func isBinary(h nats.Header) bool {
	if len(h) == 0 {
		return false
	}
	if _, ok := h[hdrSpecVersion]; ok {
		return true
	}
	for k := range h {
		if strings.EqualFold(k, hdrSpecVersion) {
			return true
		}
	}
	return false
}

// Bits recording which core attributes a message has given.
const (
	seenSpecVersion uint16 = 1 << iota
	seenID
	seenSource
	seenType
	seenTime
	seenDataContentType
	seenDataSchema
	seenSubject
	seenData
	seenDataBase64
	seenContentType // binary mode: the Content-Type header
)

// decodeBinary decodes a binary-mode event. Extensions come out sorted by
// name, because header order is not kept.
func decodeBinary(h nats.Header, body []byte, ev *Event) error {
	resetEvent(ev)
	var seen uint16
	var contentType string
	for k, vs := range h {
		var name string
		switch {
		case hasPrefixFold(k, HeaderPrefix):
			name = strings.ToLower(k[len(HeaderPrefix):])
		case strings.EqualFold(k, HeaderContentType):
			if seen&seenContentType != 0 {
				return NewError(ErrInvalidAttribute, "datacontenttype", "Content-Type header given more than once")
			}
			seen |= seenContentType
			if len(vs) > 1 {
				return NewError(ErrInvalidAttribute, "datacontenttype", "Content-Type header given more than once")
			}
			if len(vs) == 1 {
				contentType = trimOWS(vs[0])
				if !utf8.ValidString(contentType) {
					return badUTF8("datacontenttype", contentType)
				}
			}
			continue
		default:
			continue
		}
		v, err := headerValue(name, vs)
		if err != nil {
			return err
		}
		bit, core, err := setCoreAttribute(ev, name, v, true)
		if err != nil {
			return err
		}
		if !core {
			if err := checkExtensionName(name); err != nil {
				return err
			}
			if _, dup := ev.Extension(name); dup {
				return givenTwice(name)
			}
			if len(ev.Extensions) == MaxExtensions {
				return tooManyExtensions()
			}
			ev.Extensions = append(ev.Extensions, Extension{Name: name, Value: v})
			continue
		}
		if seen&bit != 0 {
			return givenTwice(name)
		}
		seen |= bit
	}
	if seen&seenDataContentType == 0 {
		ev.DataContentType = contentType
	}
	if err := checkRequired(ev, seen&seenSpecVersion != 0); err != nil {
		return err
	}
	if len(ev.Extensions) > 1 {
		slices.SortFunc(ev.Extensions, func(a, b Extension) int { return strings.Compare(a.Name, b.Name) })
	}
	if len(body) > 0 {
		ev.Data = body
		// A body that is not JSON is binary data, even under a JSON type.
		ev.DataBase64 = dataIsJSON(ev.DataContentType) && !jsonscan.Valid(body)
	}
	return nil
}

// headerValue returns the decoded value of the single header value in vs:
// surrounding whitespace trimmed, a double-quoted string unquoted, then
// percent-decoded; the result must be valid UTF-8.
func headerValue(attr string, vs []string) (string, error) {
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", givenTwice(attr)
	}
	v := trimOWS(vs[0])
	if len(v) > 0 && v[0] == '"' {
		var err error
		if v, err = unquoteHeader(attr, v); err != nil {
			return "", err
		}
	}
	if strings.IndexByte(v, '%') < 0 {
		if !utf8.ValidString(v) {
			return "", badUTF8(attr, v)
		}
		return v, nil
	}
	return percentDecode(attr, v)
}

// givenTwice reports the attribute header ce-<attr> given twice (as two
// values, or under two spellings of its name). attr comes from the message:
// the error quotes it, cut.
func givenTwice(attr string) error {
	return NewError(ErrInvalidAttribute, attr, "header "+quote(HeaderPrefix+attr)+" given more than once")
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// unquoteHeader undoes an RFC 7230 quoted-string: "..." with \-escapes.
func unquoteHeader(attr, v string) (string, error) {
	var sb strings.Builder
	sb.Grow(len(v))
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 >= len(v) {
				return "", NewError(ErrInvalidAttribute, attr, "unterminated quoted header value: "+quote(v))
			}
			i++
			sb.WriteByte(v[i])
		case '"':
			if i != len(v)-1 {
				return "", NewError(ErrInvalidAttribute, attr, "text after the closing quote of a quoted header value: "+quote(v))
			}
			return sb.String(), nil
		default:
			sb.WriteByte(c)
		}
	}
	return "", NewError(ErrInvalidAttribute, attr, "unterminated quoted header value: "+quote(v))
}

// percentDecode decodes the %XX escapes of the header value v of attr. A
// '%' not followed by two hex digits is an ErrInvalidAttribute error; a
// result that is not valid UTF-8 (such as the overlong %C0%A0) is an
// ErrInvalidUTF8 error.
func percentDecode(attr, v string) (string, error) {
	s, bad, ok := pctenc.Decode(v)
	switch {
	case ok:
		return s, nil
	case bad < 0:
		return "", NewError(ErrInvalidUTF8, attr, "percent-decoded value is not valid UTF-8: "+quote(v))
	case bad+2 >= len(v):
		return "", NewError(ErrInvalidAttribute, attr, "truncated percent-encoding in "+quote(v))
	}
	return "", NewError(ErrInvalidAttribute, attr, "invalid percent-encoding "+quote(v[bad:bad+3])+" in "+quote(v))
}
