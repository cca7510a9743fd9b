package codec

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// wordsToCheck yields words with every byte value at every position, and
// random words, for checking the SWAR helpers against their byte-wise
// definitions.
func wordsToCheck(yield func(uint64) bool) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', 0x7E, 0x21, 0x00, 0xFF} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(c)
				if !yield(binary.LittleEndian.Uint64(b[:])) {
					return
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		if !yield(r.Uint64()) {
			return
		}
	}
}

func TestSpecial8(t *testing.T) {
	for x := range wordsToCheck {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x)
		want := false
		for _, c := range b {
			if strClass[c] != clPlain {
				want = true
			}
		}
		m := special8(x)
		if got := m != 0; got != want {
			// A false positive is allowed only after a true positive,
			// and then want is true anyway; so any mismatch is a bug.
			t.Fatalf("special8(% x) = %v, want %v", b, got, want)
		}
		if m != 0 {
			// The lowest flagged byte is the first special one.
			first := bits.TrailingZeros64(m) >> 3
			for k, c := range b[:first+1] {
				if special := strClass[c] != clPlain; special != (k == first) {
					t.Fatalf("special8(% x) flags byte %d first", b, first)
				}
			}
		}
		if got := load64(string(b[:]), 0); got != x {
			t.Fatalf("load64(% x) = %#x, want %#x", b, got, x)
		}
	}
}

func TestPctSpecial8(t *testing.T) {
	for x := range wordsToCheck {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x)
		want := false
		for _, c := range b {
			if needsPct(c) {
				want = true
			}
		}
		if got := pctSpecial8(x); got != want {
			t.Fatalf("pctSpecial8(% x) = %v, want %v", b, got, want)
		}
	}
}

func TestPctExtra(t *testing.T) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghi", "a b", "%%%%%%%%%", `"`, "é", strings.Repeat("x", 17) + " "} {
		want := 0
		for i := 0; i < len(s); i++ {
			if needsPct(s[i]) {
				want += 2
			}
		}
		if got := pctExtra(s); got != want {
			t.Errorf("pctExtra(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		``, ` `, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `.5`, `-a`,
		`true`, `tru`, `nul`, `null`, `nullx`, `false `, ` "x" `, `"\u00e9"`, `"\u00g9"`,
		`"\x"`, `"a` + "\x01" + `"`, `"\/"`, `[]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `{"a"}`,
		`{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":[{"b":[]}]}`, `[[[[]]]]`,
		`[[[[]]]`, `{"a":1}}`, `"` + "\u2028" + `"`, `"\ud800"`, `{"a" : 1 , "b" : [ true , null ] }`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		// Around the depth where skipValue moves to its big stack.
		strings.Repeat("[", 64) + strings.Repeat("]", 64),
		strings.Repeat("[", 65) + strings.Repeat("]", 65),
		strings.Repeat(`{"a":[`, 40) + strings.Repeat("]}", 40),
		strings.Repeat(`{"a":[`, 40) + strings.Repeat("}]", 40),
		strings.Repeat(`[{"a":`, 33) + "1" + strings.Repeat("}]", 32) + "]}",
		`[` + strings.Repeat(`"x",`, 70) + `{"a":"é","b":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}]",
	}
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid = %v", c, got, want)
		}
	}
	// Stricter than encoding/json on one point: invalid UTF-8 in strings.
	if validJSON([]byte("\"\xff\"")) {
		t.Error(`validJSON accepts invalid UTF-8`)
	}
}

// FuzzValidJSON checks the scanner against encoding/json on valid UTF-8.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\n",true,null,{}]}`, `[`, `"\ud83d\ude00"`, `-0.0e-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := validJSON(b)
		if !utf8.Valid(b) {
			if got {
				t.Fatalf("validJSON accepts invalid UTF-8 %q", b)
			}
			return
		}
		if want := json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		raw, want string
		wantErr   error
	}{
		{raw: `a\"b\\c\/d`, want: `a"b\c/d`},
		{raw: `\b\f\n\r\t`, want: "\b\f\n\r\t"},
		{raw: `\u00e9\u20AC`, want: "é€"},
		{raw: `\ud83d\ude00!`, want: "😀!"},
		{raw: `\u0000`, want: "\x00"},
		{raw: `\ud83d`, wantErr: ErrInvalidUTF8},
		{raw: `\ud83dx`, wantErr: ErrInvalidUTF8},
		{raw: `\ud83d\u0041`, wantErr: ErrInvalidUTF8},
		{raw: `\ude00`, wantErr: ErrInvalidUTF8},
	}
	for _, tt := range tests {
		got, err := unescape(nil, tt.raw)
		if tt.wantErr != nil {
			if err == nil || !errorsIs(err, tt.wantErr) {
				t.Errorf("unescape(%q) error = %v, want %v", tt.raw, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("unescape(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}

func errorsIs(err, target error) bool {
	e, ok := err.(*Error)
	return ok && e.Err == target
}
