// Package jsonscan is codec's small, strict JSON scanner. It validates and
// skips JSON values without building anything, so that the decoder can
// slice "data" out of a body and the encoder can check data cheaply
// (encoding/json.Valid is several times slower); it also unescapes and
// writes JSON strings. It accepts exactly what RFC 8259 accepts, and in
// addition requires strings to be valid UTF-8. Nesting is limited to
// MaxDepth, as in encoding/json.
//
// Every error it returns is an [*Error], whose Reason codec puts in its own
// error unchanged.
package jsonscan

import (
	"errors"
	"strconv"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects accepted.
const MaxDepth = 10000

// Error is a JSON syntax error, or a string that is not valid UTF-8.
type Error struct {
	// Reason says what is wrong and, for a syntax error, where, e.g.
	// "unexpected end of input at offset 12".
	Reason string
	// BadUTF8 is set for a string that is not valid UTF-8 (including an
	// escaped lone UTF-16 surrogate, on Unescape), and clear for malformed
	// JSON.
	BadUTF8 bool
}

func (e *Error) Error() string { return "jsonscan: " + e.Reason }

// Malformed returns the error for malformed JSON at offset i: what, then
// " at offset i". It is kept out of line, so that the scanners' error paths
// stay calls and do not swell their loops.
//
//go:noinline
func Malformed(i int, what string) error {
	return &Error{Reason: what + " at offset " + strconv.Itoa(i)}
}

// Truncated returns the error for input that ends, at offset i, before the
// JSON text does.
func Truncated(i int) error { return Malformed(i, "unexpected end of input") }

// Unexpected returns the error for the byte s[i] where want was expected
// (Truncated if i is len(s)).
func Unexpected(s string, i int, want string) error {
	if i >= len(s) {
		return Truncated(i)
	}
	return Malformed(i, "unexpected "+strconv.QuoteRune(rune(s[i]))+", want "+want)
}

func badUTF8(reason string) error { return &Error{Reason: reason, BadUTF8: true} }

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipWS returns the index of the first byte at or after i that is not JSON
// whitespace, or len(s).
func SkipWS(s string, i int) int {
	if i < len(s) && s[i] > ' ' {
		return i // the common case: no whitespace
	}
	for i < len(s) && isWS(s[i]) {
		i++
	}
	return i
}

// ScanLiteral checks that s[i:] starts with lit and returns the index past
// it.
func ScanLiteral(s string, i int, lit string) (int, error) {
	if len(s)-i < len(lit) {
		if s[i:] == lit[:len(s)-i] {
			return 0, Truncated(len(s))
		}
		return 0, Malformed(i, "invalid literal")
	}
	if s[i:i+len(lit)] != lit {
		return 0, Malformed(i, "invalid literal")
	}
	return i + len(lit), nil
}

// IsDigit reports whether c is an ASCII digit.
func IsDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanDigits skips the run of digits at s[i], which must have at least one,
// in the number that starts at start.
func scanDigits(s string, i, start int) (int, error) {
	if i >= len(s) {
		return 0, Truncated(i)
	}
	if !IsDigit(s[i]) {
		return 0, Malformed(start, "invalid number")
	}
	for i < len(s) && IsDigit(s[i]) {
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
		return 0, Truncated(i)
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		i++
		for i < len(s) && IsDigit(s[i]) {
			i++
		}
	default:
		return 0, Malformed(start, "invalid number")
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

// ScanScalar scans a string, number or literal at s[i] (i < len(s)) and
// returns the index past it.
func ScanScalar(s string, i int) (int, error) {
	switch c := s[i]; c {
	case '"':
		end, _, err := ScanString(s, i)
		return end, err
	case 't':
		return ScanLiteral(s, i, "true")
	case 'f':
		return ScanLiteral(s, i, "false")
	case 'n':
		return ScanLiteral(s, i, "null")
	default:
		if c == '-' || IsDigit(c) {
			return scanNumber(s, i)
		}
		return 0, Unexpected(s, i, "a JSON value")
	}
}

// SkipValue validates the JSON value starting at s[i] (after optional
// whitespace) and returns the index just past it. It does not recurse: the
// kind of each open container is kept in a bit stack. A one-word stack
// serves values nested up to 64 deep without zeroing a big array per call;
// a deeper value is scanned again with a stack for MaxDepth.
func SkipValue(s string, i int) (int, error) {
	var stack [1]uint64
	end, err := scanValue(s, i, stack[:])
	if err == errDeeper {
		return skipDeepValue(s, i)
	}
	return end, err
}

// skipDeepValue is SkipValue with a stack for MaxDepth levels.
func skipDeepValue(s string, i int) (int, error) {
	var stack [MaxDepth/64 + 1]uint64
	return scanValue(s, i, stack[:])
}

// errDeeper reports that a value nests deeper than scanValue's stack holds;
// it never leaves this package.
var errDeeper = errors.New("jsonscan: value nests deeper than the scan stack")

// scanValue does the work of SkipValue with the given bit stack (bit set:
// object; clear: array), failing with errDeeper if it is too small. Strings,
// keys included, are scanned in line: they are most of the tokens.
func scanValue(s string, i int, stack []uint64) (int, error) {
	depth := 0
	key := false // a key is expected at s[i], not a value
	var err error
	for {
		i = SkipWS(s, i)
		if i >= len(s) {
			return 0, Truncated(i)
		}
		switch c := s[i]; {
		case c == '"':
			j := PlainEnd(s, i+1)
			if j < len(s) && s[j] == '"' {
				i = j + 1
			} else if i, _, err = ScanSpecial(s, j); err != nil {
				return 0, err
			}
			if key {
				key = false
				i = SkipWS(s, i)
				if i >= len(s) || s[i] != ':' {
					return 0, Unexpected(s, i, "':'")
				}
				i++
				continue
			}
		case key:
			return 0, Unexpected(s, i, "a string key")
		case c == '{' || c == '[':
			if depth == MaxDepth {
				return 0, Malformed(i, "nesting too deep")
			}
			if depth>>6 >= len(stack) {
				return 0, errDeeper
			}
			obj := c == '{'
			setObject(stack, depth, obj)
			depth++
			i = SkipWS(s, i+1)
			if i < len(s) && (s[i] == '}' && obj || s[i] == ']' && !obj) {
				depth--
				i++
				break
			}
			key = obj
			continue
		default:
			if i, err = ScanScalar(s, i); err != nil {
				return 0, err
			}
		}
		// A value has ended at i: close containers or move to the next
		// element.
		for {
			if depth == 0 {
				return i, nil
			}
			obj := isObject(stack, depth-1)
			i = SkipWS(s, i)
			if i >= len(s) {
				return 0, Truncated(i)
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
			return 0, unexpectedInContainer(s, i, obj)
		}
	}
}

// setObject records in scanValue's bit stack whether the container at depth
// is an object. It and isObject are inlined.
func setObject(stack []uint64, depth int, obj bool) {
	if obj {
		stack[depth>>6] |= 1 << (depth & 63)
	} else {
		stack[depth>>6] &^= 1 << (depth & 63)
	}
}

// isObject reports whether the container at depth is an object.
func isObject(stack []uint64, depth int) bool {
	return stack[depth>>6]&(1<<(depth&63)) != 0
}

// unexpectedInContainer is the error for s[i] where an object (obj) or array
// wants ',' or its closing bracket.
func unexpectedInContainer(s string, i int, obj bool) error {
	if obj {
		return Unexpected(s, i, "',' or '}'")
	}
	return Unexpected(s, i, "',' or ']'")
}

// Valid reports whether b is exactly one JSON value with optional
// surrounding whitespace, with valid UTF-8 in its strings. It does not
// allocate.
func Valid(b []byte) bool {
	s := bytesToString(b)
	i, err := SkipValue(s, 0)
	return err == nil && SkipWS(s, i) == len(s)
}

// Span validates b as Valid does and returns where the value starts and
// ends, without the surrounding whitespace.
func Span(b []byte) (start, end int, ok bool) {
	s := bytesToString(b)
	start = SkipWS(s, 0)
	end, err := SkipValue(s, start)
	if err != nil || SkipWS(s, end) != len(s) {
		return 0, 0, false
	}
	return start, end, true
}

// bytesToString returns a string that shares b's memory, for scanning b in
// place: the string must not outlive the call that made it.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
