package codec

import (
	"encoding/base64"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec/internal/jsonscan"
	"github.com/exprsn/ipcmesh/codec/internal/rfc3339"
)

// AppendStructured appends the structured-mode JSON envelope of ev to dst and
// returns the extended buffer. It writes, without whitespace and in this
// order: specversion, id, source, type, time (RFC 3339 with nanoseconds,
// keeping the zone offset), datacontenttype, dataschema, subject (each only
// if set), the extensions in slice order (as JSON strings), then "data" (the
// JSON text as is, minus surrounding whitespace) when ev.DataIsJSON, or
// "data_base64" otherwise (any other content type, or DataBase64 set); no
// data member when ev.Data is nil.
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
	if dst, ok = jsonscan.AppendString(dst, ev.ID); !ok {
		return orig, badUTF8("id", ev.ID)
	}
	dst = append(dst, `,"source":`...)
	if dst, ok = jsonscan.AppendString(dst, ev.Source); !ok {
		return orig, badUTF8("source", ev.Source)
	}
	dst = append(dst, `,"type":`...)
	if dst, ok = jsonscan.AppendString(dst, ev.Type); !ok {
		return orig, badUTF8("type", ev.Type)
	}
	if !ev.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		if dst, ok = rfc3339.Append(dst, ev.Time); !ok {
			return orig, checkTime(ev.Time)
		}
		dst = append(dst, '"')
	}
	if ev.DataContentType != "" {
		dst = append(dst, `,"datacontenttype":`...)
		if dst, ok = jsonscan.AppendString(dst, ev.DataContentType); !ok {
			return orig, badUTF8("datacontenttype", ev.DataContentType)
		}
	}
	if ev.DataSchema != "" {
		dst = append(dst, `,"dataschema":`...)
		if dst, ok = jsonscan.AppendString(dst, ev.DataSchema); !ok {
			return orig, badUTF8("dataschema", ev.DataSchema)
		}
	}
	if ev.Subject != "" {
		dst = append(dst, `,"subject":`...)
		if dst, ok = jsonscan.AppendString(dst, ev.Subject); !ok {
			return orig, badUTF8("subject", ev.Subject)
		}
	}
	var err error
	if dst, err = appendExtensions(dst, ev.Extensions); err != nil {
		return orig, err
	}
	if ev.Data != nil {
		if ev.DataIsJSON() {
			start, end, ok := jsonscan.Span(ev.Data)
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

// appendExtensions appends the members of AppendStructured for the
// extensions exts, checking them as it goes as Validate does.
func appendExtensions(dst []byte, exts []Extension) ([]byte, error) {
	if len(exts) > MaxExtensions {
		return dst, tooManyExtensions()
	}
	var ok bool
	for i := range exts {
		x := &exts[i]
		if err := checkExtensionName(x.Name); err != nil {
			return dst, err
		}
		for j := 0; j < i; j++ {
			if exts[j].Name == x.Name {
				return dst, NewError(ErrInvalidAttribute, x.Name, "extension given twice")
			}
		}
		dst = append(dst, ',', '"')
		dst = append(dst, x.Name...) // a valid name needs no escaping
		dst = append(dst, '"', ':')
		if dst, ok = jsonscan.AppendString(dst, x.Value); !ok {
			return dst, badUTF8(x.Name, x.Value)
		}
	}
	return dst, nil
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
		if ev.DataIsJSON() {
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
