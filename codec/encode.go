package codec

import (
	"encoding/base64"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// AppendStructured appends the structured-mode JSON envelope of ev to dst and
// returns the extended buffer. It writes, without whitespace and in this
// order: specversion, id, source, type, time (RFC 3339 with nanoseconds,
// keeping the zone offset), datacontenttype, dataschema, subject (each only
// if set), the extensions in slice order (as JSON strings), then "data" (the
// JSON text as is, minus surrounding whitespace) when the content type is
// JSON or empty, or "data_base64" for any other content type; no data member
// when ev.Data is nil.
//
// It validates ev as it goes and fails exactly when ev.Validate does; on
// error it returns dst unchanged (same length) and an [*Error]. It does not
// allocate when dst has enough capacity.
func AppendStructured(dst []byte, ev *Event) ([]byte, error) {
	orig := dst
	var ok bool
	if ev.ID == "" {
		return orig, missing("id")
	}
	if ev.Source == "" {
		return orig, missing("source")
	}
	if ev.Type == "" {
		return orig, missing("type")
	}
	dst = append(dst, `{"specversion":"1.0","id":`...)
	if dst, ok = appendJSONString(dst, ev.ID); !ok {
		return orig, badUTF8("id", ev.ID)
	}
	dst = append(dst, `,"source":`...)
	if dst, ok = appendJSONString(dst, ev.Source); !ok {
		return orig, badUTF8("source", ev.Source)
	}
	dst = append(dst, `,"type":`...)
	if dst, ok = appendJSONString(dst, ev.Type); !ok {
		return orig, badUTF8("type", ev.Type)
	}
	if !ev.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		if dst, ok = appendTime(dst, ev.Time); !ok {
			return orig, checkTime(ev.Time)
		}
		dst = append(dst, '"')
	}
	if ev.DataContentType != "" {
		dst = append(dst, `,"datacontenttype":`...)
		if dst, ok = appendJSONString(dst, ev.DataContentType); !ok {
			return orig, badUTF8("datacontenttype", ev.DataContentType)
		}
	}
	if ev.DataSchema != "" {
		dst = append(dst, `,"dataschema":`...)
		if dst, ok = appendJSONString(dst, ev.DataSchema); !ok {
			return orig, badUTF8("dataschema", ev.DataSchema)
		}
	}
	if ev.Subject != "" {
		dst = append(dst, `,"subject":`...)
		if dst, ok = appendJSONString(dst, ev.Subject); !ok {
			return orig, badUTF8("subject", ev.Subject)
		}
	}
	if len(ev.Extensions) > MaxExtensions {
		return orig, tooManyExtensions()
	}
	for i := range ev.Extensions {
		x := &ev.Extensions[i]
		if err := checkExtensionName(x.Name); err != nil {
			return orig, err
		}
		for j := 0; j < i; j++ {
			if ev.Extensions[j].Name == x.Name {
				return orig, newError(ErrInvalidAttribute, x.Name, "extension given twice")
			}
		}
		dst = append(dst, ',', '"')
		dst = append(dst, x.Name...) // a valid name needs no escaping
		dst = append(dst, '"', ':')
		if dst, ok = appendJSONString(dst, x.Value); !ok {
			return orig, badUTF8(x.Name, x.Value)
		}
	}
	if ev.Data != nil {
		if dataIsJSON(ev.DataContentType) {
			start, end, ok := jsonSpan(ev.Data)
			if !ok {
				return orig, invalidData(ev.Data)
			}
			dst = append(dst, `,"data":`...)
			dst = append(dst, ev.Data[start:end]...)
		} else {
			dst = append(dst, `,"data_base64":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, ev.Data)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}'), nil
}

// jsonSpan validates b as one JSON value and returns where the value starts
// and ends, without the surrounding whitespace.
func jsonSpan(b []byte) (start, end int, ok bool) {
	s := bytesToStringNoCopy(b)
	start = skipWS(s, 0)
	end, err := skipValue(s, start)
	if err != nil || skipWS(s, end) != len(s) {
		return 0, 0, false
	}
	return start, end, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes '"', '\\' and
// control characters (as \n, \r, \t or \u00XX) and copies everything else in
// runs. It reports false if s is not valid UTF-8.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0
	for i := plainEnd(s, 0); i < len(s); i = plainEnd(s, i) {
		c := s[i]
		if strClass[c] == clHigh {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return dst, false
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}

// structuredSize returns the size of ev's structured envelope when no string
// needs escaping, plus a little room for a few escapes.
func structuredSize(ev *Event) int {
	n := len(`{"specversion":"1.0","id":"","source":"","type":""}`) + len(ev.ID) + len(ev.Source) + len(ev.Type)
	if !ev.Time.IsZero() {
		n += len(`,"time":""`) + len(time.RFC3339Nano)
	}
	if ev.DataContentType != "" {
		n += len(`,"datacontenttype":""`) + len(ev.DataContentType)
	}
	if ev.DataSchema != "" {
		n += len(`,"dataschema":""`) + len(ev.DataSchema)
	}
	if ev.Subject != "" {
		n += len(`,"subject":""`) + len(ev.Subject)
	}
	for _, x := range ev.Extensions {
		n += len(`,"":""`) + len(x.Name) + len(x.Value)
	}
	if ev.Data != nil {
		if dataIsJSON(ev.DataContentType) {
			n += len(`,"data":`) + len(ev.Data)
		} else {
			n += len(`,"data_base64":""`) + base64.StdEncoding.EncodedLen(len(ev.Data))
		}
	}
	return n + 16
}

// EncodeMsg encodes ev into msg in the given mode. It leaves msg.Subject and
// msg.Reply alone, and never touches headers other than Content-Type and the
// ce-* headers (matched case-insensitively).
//
// Structured mode sets msg.Data to a newly allocated envelope (as
// AppendStructured writes it) and sets no header at all; it removes any
// Content-Type and ce-* headers msg.Header already holds, so that a reused
// message is not read as binary.
//
// Binary mode sets the headers as SetBinaryHeaders does (creating msg.Header
// if nil) and sets msg.Data to ev.Data itself, not a copy.
//
// On error, msg is left unchanged.
func EncodeMsg(msg *nats.Msg, ev *Event, mode Mode) error {
	switch mode {
	case Structured:
		buf, err := AppendStructured(make([]byte, 0, structuredSize(ev)), ev)
		if err != nil {
			return err
		}
		removeEventHeaders(msg.Header)
		msg.Data = buf
		return nil
	case Binary:
		if err := ev.validateAttrs(); err != nil {
			return err
		}
		if msg.Header == nil {
			msg.Header = make(nats.Header, 6+len(ev.Extensions))
		}
		setBinaryHeaders(msg.Header, ev)
		msg.Data = ev.Data
		return nil
	}
	return errors.New("codec: EncodeMsg: unknown content " + mode.String())
}
