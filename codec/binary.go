package codec

import (
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
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
// with the headers is ev.Data, unchanged. h must not be nil. On error
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

// setBinaryHeaders is SetBinaryHeaders for a valid ev and a non-nil h.
func setBinaryHeaders(h nats.Header, ev *Event) {
	ctInHeader := headerSafe(ev.DataContentType)

	// Every string the headers need that is not one of ev's own strings (the
	// time, extension header names, percent-encoded values) is written into
	// one builder, in the order the headers are set below; the values share
	// one backing array. So the call makes two allocations.
	n := 4
	size := pctSize(ev.ID) + pctSize(ev.Source) + pctSize(ev.Type)
	if !ev.Time.IsZero() {
		n++
		size += len(time.RFC3339Nano)
	}
	if ev.DataContentType != "" {
		n++
		if !ctInHeader {
			size += pctSize(ev.DataContentType)
		}
	}
	if ev.DataSchema != "" {
		n++
		size += pctSize(ev.DataSchema)
	}
	if ev.Subject != "" {
		n++
		size += pctSize(ev.Subject)
	}
	for _, x := range ev.Extensions {
		n++
		size += len(HeaderPrefix) + len(x.Name) + pctSize(x.Value)
	}

	var sb strings.Builder
	sb.Grow(size)
	writePct(&sb, ev.ID)
	writePct(&sb, ev.Source)
	writePct(&sb, ev.Type)
	timeLen := 0
	if !ev.Time.IsZero() {
		var buf [64]byte
		t, _ := appendTime(buf[:0], ev.Time) // ev is valid: the year fits
		timeLen = len(t)
		sb.Write(t)
	}
	if !ctInHeader {
		writePct(&sb, ev.DataContentType)
	}
	writePct(&sb, ev.DataSchema)
	writePct(&sb, ev.Subject)
	for _, x := range ev.Extensions {
		sb.WriteString(HeaderPrefix)
		sb.WriteString(x.Name)
		writePct(&sb, x.Value)
	}
	all := sb.String()

	// Set the headers, taking the builder's strings back in the same order.
	removeStaleHeaders(h, ev, ctInHeader)
	vals := make([]string, n)
	i, off := 0, 0
	take := func(n int) string {
		s := all[off : off+n]
		off += n
		return s
	}
	val := func(v string) string {
		if extra := pctExtra(v); extra != 0 {
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

// needsPct reports whether byte c of a header value must be percent-encoded.
func needsPct(c byte) bool { return c <= ' ' || c == '"' || c == '%' || c >= 0x7F }

// pctSpecial8 reports whether a word may hold a byte that needsPct. It has
// no false negatives; false positives occur only after a true one.
func pctSpecial8(x uint64) bool {
	low := (x - lsb*0x21) &^ x            // bytes <= 0x20
	quo := ((x ^ (lsb * '"')) - lsb) &^ x // '"'
	pct := ((x ^ (lsb * '%')) - lsb) &^ x // '%'
	high := x + lsb                       // bytes >= 0x7F (x itself flags >= 0x80)
	return (low|quo|pct|high|x)&msb != 0
}

// pctExtra returns how many bytes percent-encoding adds to s.
func pctExtra(s string) int {
	n, i := 0, 0
	for ; i+8 <= len(s); i += 8 {
		if !pctSpecial8(load64(s, i)) {
			continue
		}
		for j := i; j < i+8; j++ {
			if needsPct(s[j]) {
				n += 2
			}
		}
	}
	for ; i < len(s); i++ {
		if needsPct(s[i]) {
			n += 2
		}
	}
	return n
}

const upperHex = "0123456789ABCDEF"

// pctSize returns how many bytes writePct writes for s.
func pctSize(s string) int {
	if extra := pctExtra(s); extra != 0 {
		return len(s) + extra
	}
	return 0
}

// writePct writes s percent-encoded to sb, if it needs encoding at all.
func writePct(sb *strings.Builder, s string) {
	if pctExtra(s) == 0 {
		return
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; needsPct(c) {
			sb.WriteString(s[start:i])
			sb.WriteByte('%')
			sb.WriteByte(upperHex[c>>4])
			sb.WriteByte(upperHex[c&0xF])
			start = i + 1
		}
	}
	sb.WriteString(s[start:])
}
