package codec

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/exprsn/ipcmesh/codec/internal/pctenc"
	"github.com/exprsn/ipcmesh/codec/internal/rfc3339"
)

// Binary-mode header names, as this package writes them. On decode, names
// are matched case-insensitively.
const (
	hdrSpecVersion     = HeaderPrefix + "specversion"
	hdrID              = HeaderPrefix + "id"
	hdrSource          = HeaderPrefix + "source"
	hdrType            = HeaderPrefix + "type"
	hdrTime            = HeaderPrefix + "time"
	hdrDataContentType = HeaderPrefix + "datacontenttype"
	hdrDataSchema      = HeaderPrefix + "dataschema"
	hdrSubject         = HeaderPrefix + "subject"
)

// SetBinaryHeaders writes ev's attributes into h as binary-mode headers:
// ce-specversion, ce-id, ce-source, ce-type, ce-time, ce-dataschema,
// ce-subject and ce-<extension>, each value percent-encoded as the NATS
// protocol binding draft says (space, '"', '%' and every byte outside
// printable ASCII become %XX of their UTF-8 bytes). datacontenttype goes in
// the Content-Type header, verbatim; only a content type that cannot be a
// header value as is (bytes outside printable ASCII, or surrounding spaces)
// goes, percent-encoded, in ce-datacontenttype instead.
//
// It first removes every Content-Type and ce-* header h holds (in any letter
// case), so no attribute of an earlier event survives. The payload to send
// with the headers is ev.Data, unchanged. Binary mode cannot carry
// ev.DataBase64: a receiver reads a body under no (or a JSON) content type
// as JSON data if it is valid JSON, as binary data if not. h must not be nil. On error
// (ev.Validate's, except that Data is not checked) h is left unchanged.
func SetBinaryHeaders(h nats.Header, ev *Event) error {
	if h == nil {
		return errors.New("codec: SetBinaryHeaders: nil header")
	}
	if err := ev.validateAttrs(); err != nil {
		return err
	}
	setBinaryHeaders(h, ev)
	return nil
}

// setBinaryHeaders is SetBinaryHeaders for a valid ev and a non-nil h. It
// makes two allocations: the strings of headerStrings, and the header values.
func setBinaryHeaders(h nats.Header, ev *Event) {
	ctInHeader := headerSafe(ev.DataContentType)
	all, n, timeLen := headerStrings(ev, ctInHeader)

	// Set the headers, taking headerStrings' strings back in the same order.
	removeStaleHeaders(h, ev, ctInHeader)
	vals := make([]string, n)
	i, off := 0, 0
	take := func(n int) string {
		s := all[off : off+n]
		off += n
		return s
	}
	val := func(v string) string {
		if extra := pctenc.Extra(v); extra != 0 {
			return take(len(v) + extra)
		}
		return v
	}
	set := func(key, v string) {
		vals[i] = v
		h[key] = vals[i : i+1 : i+1]
		i++
	}
	set(hdrSpecVersion, SpecVersion)
	set(hdrID, val(ev.ID))
	set(hdrSource, val(ev.Source))
	set(hdrType, val(ev.Type))
	if timeLen > 0 {
		set(hdrTime, take(timeLen))
	}
	if ev.DataContentType != "" {
		if ctInHeader {
			set(HeaderContentType, ev.DataContentType)
		} else {
			set(hdrDataContentType, val(ev.DataContentType))
		}
	}
	if ev.DataSchema != "" {
		set(hdrDataSchema, val(ev.DataSchema))
	}
	if ev.Subject != "" {
		set(hdrSubject, val(ev.Subject))
	}
	for _, x := range ev.Extensions {
		key := take(len(HeaderPrefix) + len(x.Name))
		set(key, val(x.Value))
	}
}

// headerStrings writes every string the headers of ev need that is not one
// of ev's own strings (the time, extension header names, percent-encoded
// values) into one string, in the order setBinaryHeaders sets the headers,
// so that they share one backing array. It returns that string, the number
// of headers and the length of the time.
func headerStrings(ev *Event, ctInHeader bool) (all string, n, timeLen int) {
	n = 4
	size := pctenc.Size(ev.ID) + pctenc.Size(ev.Source) + pctenc.Size(ev.Type)
	if !ev.Time.IsZero() {
		n++
		size += len(time.RFC3339Nano)
	}
	if ev.DataContentType != "" {
		n++
		if !ctInHeader {
			size += pctenc.Size(ev.DataContentType)
		}
	}
	if ev.DataSchema != "" {
		n++
		size += pctenc.Size(ev.DataSchema)
	}
	if ev.Subject != "" {
		n++
		size += pctenc.Size(ev.Subject)
	}
	for _, x := range ev.Extensions {
		n++
		size += len(HeaderPrefix) + len(x.Name) + pctenc.Size(x.Value)
	}

	var sb strings.Builder
	sb.Grow(size)
	pctenc.Write(&sb, ev.ID)
	pctenc.Write(&sb, ev.Source)
	pctenc.Write(&sb, ev.Type)
	if !ev.Time.IsZero() {
		var buf [64]byte
		t, _ := rfc3339.Append(buf[:0], ev.Time) // ev is valid: the year fits
		timeLen = len(t)
		sb.Write(t)
	}
	if !ctInHeader {
		pctenc.Write(&sb, ev.DataContentType)
	}
	pctenc.Write(&sb, ev.DataSchema)
	pctenc.Write(&sb, ev.Subject)
	for _, x := range ev.Extensions {
		sb.WriteString(HeaderPrefix)
		sb.WriteString(x.Name)
		pctenc.Write(&sb, x.Value)
	}
	return sb.String(), n, timeLen
}

// removeEventHeaders deletes Content-Type and every ce-* header from h, in
// any letter case.
func removeEventHeaders(h nats.Header) {
	for k := range h {
		if hasPrefixFold(k, HeaderPrefix) || strings.EqualFold(k, HeaderContentType) {
			delete(h, k)
		}
	}
}

// removeStaleHeaders is removeEventHeaders, except that it leaves the headers
// that SetBinaryHeaders is about to overwrite (same name, same case): it is
// cheaper to overwrite a map entry than to delete and re-add it.
func removeStaleHeaders(h nats.Header, ev *Event, ctInHeader bool) {
	for k := range h {
		if hasPrefixFold(k, HeaderPrefix) {
			if !willSet(k[len(HeaderPrefix):], ev, ctInHeader) || k[:len(HeaderPrefix)] != HeaderPrefix {
				delete(h, k)
			}
		} else if strings.EqualFold(k, HeaderContentType) {
			if k != HeaderContentType || ev.DataContentType == "" || !ctInHeader {
				delete(h, k)
			}
		}
	}
}

// willSet reports whether SetBinaryHeaders sets the header ce-<name> for ev.
func willSet(name string, ev *Event, ctInHeader bool) bool {
	switch name {
	case "specversion", "id", "source", "type":
		return true
	case "time":
		return !ev.Time.IsZero()
	case "datacontenttype":
		return ev.DataContentType != "" && !ctInHeader
	case "dataschema":
		return ev.DataSchema != ""
	case "subject":
		return ev.Subject != ""
	}
	_, ok := ev.Extension(name)
	return ok && !isCoreAttribute(name)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// headerSafe reports whether ct can travel verbatim in Content-Type and be
// read back unchanged: printable ASCII and spaces, no surrounding space.
func headerSafe(ct string) bool {
	if ct == "" {
		return true
	}
	if ct[0] == ' ' || ct[len(ct)-1] == ' ' {
		return false
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] > 0x7E {
			return false
		}
	}
	return true
}
