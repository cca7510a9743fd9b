package codec

import (
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// This file is a small, strict JSON scanner. It validates and skips JSON
// values without building anything, so the decoder can slice "data" out of
// the body and the encoder can check data cheaply (encoding/json.Valid is
// several times slower). It accepts exactly what RFC 8259 accepts, and in
// addition requires strings to be valid UTF-8. Nesting is limited to
// maxDepth, as in encoding/json.

// maxDepth is the deepest nesting of arrays and objects accepted.
const maxDepth = 10000

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

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(s string, i int) int {
	if i < len(s) && s[i] > ' ' {
		return i // the common case: no whitespace
	}
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

func malformed(i int, what string) error {
	return newError(ErrMalformed, "", what+" at offset "+strconv.Itoa(i))
}

func truncated(i int) error { return malformed(i, "unexpected end of input") }

func unexpected(s string, i int, want string) error {
	if i >= len(s) {
		return truncated(i)
	}
	return malformed(i, "unexpected "+strconv.QuoteRune(rune(s[i]))+", want "+want)
}

// SWAR constants: one in every byte, and the high bit of every byte.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load64 reads s[i:i+8] as a little-endian word (the compiler makes it one
// load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special8 returns a mask with the high bit set in every byte of the word x
// that may not be clPlain: '"', '\\', a control character or a byte >= 0x80.
// It has no false negatives, and a false positive occurs only in a byte
// after a true one (a borrow), so the lowest set bit marks the first special
// byte exactly.
func special8(x uint64) uint64 {
	ctl := x - lsb*0x20
	quo := (x ^ (lsb * '"')) - lsb
	bsl := (x ^ (lsb * '\\')) - lsb
	return ((ctl|quo|bsl)&^x | x) & msb
}

// plainEnd returns the index of the first byte at or after j that is not
// clPlain, or len(s) if there is none.
func plainEnd(s string, j int) int {
	for ; j+8 <= len(s); j += 8 {
		if m := special8(load64(s, j)); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	for j < len(s) && strClass[s[j]] == clPlain {
		j++
	}
	return j
}

// scanString scans the JSON string whose opening quote is at s[i]. It returns
// the index just past the closing quote and whether the string contains
// escapes. It checks escapes, control characters and UTF-8.
func scanString(s string, i int) (end int, escaped bool, err error) {
	j := plainEnd(s, i+1)
	if j < len(s) && s[j] == '"' {
		return j + 1, false, nil // the common case: no special byte
	}
	return scanSpecial(s, j)
}

// scanSpecial finishes scanString from s[j], the first byte of the string
// that is not clPlain.
func scanSpecial(s string, j int) (end int, escaped bool, err error) {
	for {
		if j >= len(s) {
			return 0, false, truncated(len(s))
		}
		switch strClass[s[j]] {
		case clQuote:
			return j + 1, escaped, nil
		case clBackslash:
			escaped = true
			if j+1 >= len(s) {
				return 0, false, truncated(len(s))
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) {
					return 0, false, truncated(len(s))
				}
				if _, ok := hex4(s[j+2 : j+6]); !ok {
					return 0, false, malformed(j, `invalid \u escape in string`)
				}
				j += 6
			default:
				return 0, false, malformed(j, "invalid escape "+strconv.Quote(s[j:j+2])+" in string")
			}
		case clControl:
			return 0, false, malformed(j, "control character "+strconv.QuoteRune(rune(s[j]))+" in string")
		default: // clHigh
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size <= 1 {
				return 0, false, newError(ErrInvalidUTF8, "", "string is not valid UTF-8 at offset "+strconv.Itoa(j))
			}
			j += size
		}
		j = plainEnd(s, j)
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

// unescape appends to dst the content of a JSON string with escapes; raw is
// the text between the quotes, already checked by scanString. An escaped lone
// UTF-16 surrogate is an ErrInvalidUTF8 error: it has no UTF-8 form.
func unescape(dst []byte, raw string) ([]byte, error) {
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
				return nil, newError(ErrInvalidUTF8, "", `lone UTF-16 surrogate \u`+raw[i-4:i]+" in string")
			}
			if r >= 0xDC00 && r < 0xE000 {
				return nil, newError(ErrInvalidUTF8, "", `lone UTF-16 surrogate \u`+raw[i-4:i]+" in string")
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

// scanLiteral checks that s[i:] starts with lit.
func scanLiteral(s string, i int, lit string) (int, error) {
	if len(s)-i < len(lit) {
		if s[i:] == lit[:len(s)-i] {
			return 0, truncated(len(s))
		}
		return 0, malformed(i, "invalid literal")
	}
	if s[i:i+len(lit)] != lit {
		return 0, malformed(i, "invalid literal")
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanDigits skips the run of digits at s[i], which must have at least one,
// in the number that starts at start.
func scanDigits(s string, i, start int) (int, error) {
	if i >= len(s) {
		return 0, truncated(i)
	}
	if !isDigit(s[i]) {
		return 0, malformed(start, "invalid number")
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i, nil
}

// scanNumber scans a JSON number starting at s[i].
func scanNumber(s string, i int) (int, error) {
	start := i
	if s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return 0, truncated(i)
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return 0, malformed(start, "invalid number")
	}
	var err error
	if i < len(s) && s[i] == '.' {
		if i, err = scanDigits(s, i+1, start); err != nil {
			return 0, err
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i, err = scanDigits(s, i, start); err != nil {
			return 0, err
		}
	}
	return i, nil
}

// scanScalar scans a string, number or literal at s[i] (i < len(s)).
func scanScalar(s string, i int) (int, error) {
	switch c := s[i]; c {
	case '"':
		end, _, err := scanString(s, i)
		return end, err
	case 't':
		return scanLiteral(s, i, "true")
	case 'f':
		return scanLiteral(s, i, "false")
	case 'n':
		return scanLiteral(s, i, "null")
	default:
		if c == '-' || isDigit(c) {
			return scanNumber(s, i)
		}
		return 0, unexpected(s, i, "a JSON value")
	}
}

// skipValue validates the JSON value starting at s[i] (after optional
// whitespace) and returns the index just past it. It does not recurse: the
// kind of each open container is kept in a bit stack. A one-word stack
// serves values nested up to 64 deep without zeroing a big array per call;
// a deeper value is scanned again with a stack for maxDepth.
func skipValue(s string, i int) (int, error) {
	var stack [1]uint64
	end, err := scanValue(s, i, stack[:])
	if err == errDeeper {
		return skipDeepValue(s, i)
	}
	return end, err
}

// skipDeepValue is skipValue with a stack for maxDepth levels.
func skipDeepValue(s string, i int) (int, error) {
	var stack [maxDepth/64 + 1]uint64
	return scanValue(s, i, stack[:])
}

// errDeeper reports that a value nests deeper than scanValue's stack holds;
// it never leaves this file.
var errDeeper = errors.New("codec: value nests deeper than the scan stack")

// scanValue does the work of skipValue with the given bit stack (bit set:
// object; clear: array), failing with errDeeper if it is too small. Strings,
// keys included, are scanned in line: they are most of the tokens.
func scanValue(s string, i int, stack []uint64) (int, error) {
	depth := 0
	key := false // a key is expected at s[i], not a value
	var err error
	for {
		i = skipWS(s, i)
		if i >= len(s) {
			return 0, truncated(i)
		}
		switch c := s[i]; {
		case c == '"':
			j := plainEnd(s, i+1)
			if j < len(s) && s[j] == '"' {
				i = j + 1
			} else if i, _, err = scanSpecial(s, j); err != nil {
				return 0, err
			}
			if key {
				key = false
				i = skipWS(s, i)
				if i >= len(s) || s[i] != ':' {
					return 0, unexpected(s, i, "':'")
				}
				i++
				continue
			}
		case key:
			return 0, unexpected(s, i, "a string key")
		case c == '{' || c == '[':
			if depth == maxDepth {
				return 0, malformed(i, "nesting too deep")
			}
			if depth>>6 >= len(stack) {
				return 0, errDeeper
			}
			obj := c == '{'
			if obj {
				stack[depth>>6] |= 1 << (depth & 63)
			} else {
				stack[depth>>6] &^= 1 << (depth & 63)
			}
			depth++
			i = skipWS(s, i+1)
			if i < len(s) && (s[i] == '}' && obj || s[i] == ']' && !obj) {
				depth--
				i++
				break
			}
			key = obj
			continue
		default:
			if i, err = scanScalar(s, i); err != nil {
				return 0, err
			}
		}
		// A value has ended at i: close containers or move to the next
		// element.
		for {
			if depth == 0 {
				return i, nil
			}
			obj := stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
			i = skipWS(s, i)
			if i >= len(s) {
				return 0, truncated(i)
			}
			c := s[i]
			if c == ',' {
				i++
				key = obj
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				depth--
				i++
				continue
			}
			if obj {
				return 0, unexpected(s, i, "',' or '}'")
			}
			return 0, unexpected(s, i, "',' or ']'")
		}
	}
}

// validJSON reports whether b is exactly one JSON value with optional
// surrounding whitespace, with valid UTF-8 in its strings. It does not
// allocate.
func validJSON(b []byte) bool {
	s := bytesToStringNoCopy(b)
	i, err := skipValue(s, 0)
	return err == nil && skipWS(s, i) == len(s)
}
