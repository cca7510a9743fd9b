package jsonscan

import (
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/codec/internal/swar"
)

// String byte classes.
const (
	clPlain     = iota // copied as is
	clQuote            // '"'
	clBackslash        // '\\'
	clControl          // < 0x20: invalid in a JSON string, escaped on output
	clHigh             // >= 0x80: start or continuation of a multi-byte rune
)

var strClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = clControl
	}
	t['"'] = clQuote
	t['\\'] = clBackslash
	for c := 0x80; c < 0x100; c++ {
		t[c] = clHigh
	}
	return t
}()

// special8 returns a mask with the high bit set in every byte of the word x
// that may not be clPlain: '"', '\\', a control character or a byte >= 0x80.
// It has no false negatives, and a false positive occurs only in a byte
// after a true one (a borrow), so the lowest set bit marks the first special
// byte exactly.
func special8(x uint64) uint64 {
	const lsb, msb = swar.LSB, swar.MSB
	ctl := x - lsb*0x20
	quo := (x ^ (lsb * '"')) - lsb
	bsl := (x ^ (lsb * '\\')) - lsb
	return ((ctl|quo|bsl)&^x | x) & msb
}

// PlainEnd returns the index of the first byte at or after j that may not
// appear as is in a JSON string ('"', '\\', a control character) or starts
// or continues a multi-byte rune (>= 0x80), or len(s) if there is none.
func PlainEnd(s string, j int) int {
	for ; j+8 <= len(s); j += 8 {
		if m := special8(swar.Load64(s, j)); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	for j < len(s) && strClass[s[j]] == clPlain {
		j++
	}
	return j
}

// ScanString scans the JSON string whose opening quote is at s[i]. It returns
// the index just past the closing quote and whether the string contains
// escapes. It checks escapes, control characters and UTF-8.
func ScanString(s string, i int) (end int, escaped bool, err error) {
	j := PlainEnd(s, i+1)
	if j < len(s) && s[j] == '"' {
		return j + 1, false, nil // the common case: no special byte
	}
	return ScanSpecial(s, j)
}

// ScanSpecial finishes ScanString from s[j], the first byte of the string
// that PlainEnd stops at. Callers that have found that byte themselves call
// it directly.
func ScanSpecial(s string, j int) (end int, escaped bool, err error) {
	for {
		if j >= len(s) {
			return 0, false, Truncated(len(s))
		}
		switch strClass[s[j]] {
		case clQuote:
			return j + 1, escaped, nil
		case clBackslash:
			escaped = true
			if j+1 >= len(s) {
				return 0, false, Truncated(len(s))
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) {
					return 0, false, Truncated(len(s))
				}
				if _, ok := hex4(s[j+2 : j+6]); !ok {
					return 0, false, Malformed(j, `invalid \u escape in string`)
				}
				j += 6
			default:
				return 0, false, Malformed(j, "invalid escape "+strconv.Quote(s[j:j+2])+" in string")
			}
		case clControl:
			return 0, false, Malformed(j, "control character "+strconv.QuoteRune(rune(s[j]))+" in string")
		default: // clHigh
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size <= 1 {
				return 0, false, badUTF8("string is not valid UTF-8 at offset " + strconv.Itoa(j))
			}
			j += size
		}
		j = PlainEnd(s, j)
	}
}

func hex4(s string) (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Unescape appends to dst the content of a JSON string with escapes; raw is
// the text between the quotes, already checked by ScanString. An escaped lone
// UTF-16 surrogate is an error with BadUTF8 set: it has no UTF-8 form.
func Unescape(dst []byte, raw string) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw[i+2 : i+6])
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				// High surrogate: must be followed by an escaped low one.
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if lo, ok := hex4(raw[i+2 : i+6]); ok && lo >= 0xDC00 && lo < 0xE000 {
						dst = utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
						i += 6
						continue
					}
				}
				return nil, badUTF8(`lone UTF-16 surrogate \u` + raw[i-4:i] + " in string")
			}
			if r >= 0xDC00 && r < 0xE000 {
				return nil, badUTF8(`lone UTF-16 surrogate \u` + raw[i-4:i] + " in string")
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. It escapes '"', '\\' and control
// characters (as \n, \r, \t or \u00XX) and copies everything else in runs.
// It reports false if s is not valid UTF-8.
func AppendString(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0
	for i := PlainEnd(s, 0); i < len(s); i = PlainEnd(s, i) {
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
