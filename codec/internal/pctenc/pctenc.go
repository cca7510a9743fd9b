// Package pctenc percent-encodes binary-mode header values as the
// CloudEvents NATS protocol binding draft says: space, '"', '%' and every
// byte outside printable ASCII become %XX (uppercase hex) of their UTF-8
// bytes. It scans eight bytes at a time, because most values need nothing.
// It also decodes them.
package pctenc

import (
	"strings"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/codec/internal/swar"
)

// needsPct reports whether byte c of a header value must be percent-encoded.
func needsPct(c byte) bool { return c <= ' ' || c == '"' || c == '%' || c >= 0x7F }

// special8 reports whether a word may hold a byte that needsPct. It has no
// false negatives; false positives occur only after a true one.
func special8(x uint64) bool {
	const lsb, msb = swar.LSB, swar.MSB
	low := (x - lsb*0x21) &^ x            // bytes <= 0x20
	quo := ((x ^ (lsb * '"')) - lsb) &^ x // '"'
	pct := ((x ^ (lsb * '%')) - lsb) &^ x // '%'
	high := x + lsb                       // bytes >= 0x7F (x itself flags >= 0x80)
	return (low|quo|pct|high|x)&msb != 0
}

// Extra returns how many bytes percent-encoding adds to s: 0 if s needs no
// encoding.
func Extra(s string) int {
	n, i := 0, 0
	for ; i+8 <= len(s); i += 8 {
		if !special8(swar.Load64(s, i)) {
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

// Size returns how many bytes Write writes for s: 0 if s needs no encoding,
// else the length of its encoded form.
func Size(s string) int {
	if extra := Extra(s); extra != 0 {
		return len(s) + extra
	}
	return 0
}

// Write writes s percent-encoded to sb, if it needs encoding at all (else
// nothing).
func Write(sb *strings.Builder, s string) {
	if Extra(s) == 0 {
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

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decode decodes the %XX escapes (hex digits in either case) of v. It
// reports false if a '%' is not followed by two hex digits, returning in bad
// the index of the first such '%', or if the result is not valid UTF-8 (such
// as the overlong %C0%A0), with bad -1.
func Decode(v string) (s string, bad int, ok bool) {
	buf := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		if i+2 >= len(v) {
			return "", i, false
		}
		hi, ok1 := unhex(v[i+1])
		lo, ok2 := unhex(v[i+2])
		if !ok1 || !ok2 {
			return "", i, false
		}
		buf = append(buf, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(buf) {
		return "", -1, false
	}
	return string(buf), 0, true
}
