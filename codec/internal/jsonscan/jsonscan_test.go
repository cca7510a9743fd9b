package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/codec/internal/swar/swartest"
)

func TestSpecial8(t *testing.T) {
	for x := range swartest.Words {
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
	}
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		``, ` `, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `.5`, `-a`,
		`true`, `tru`, `nul`, `null`, `nullx`, `false `, ` "x" `, `"\u00e9"`, `"\u00g9"`,
		`"\x"`, `"a` + "\x01" + `"`, `"\/"`, `[]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `{"a"}`,
		`{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":[{"b":[]}]}`, `[[[[]]]]`,
		`[[[[]]]`, `{"a":1}}`, `"` + "\u2028" + `"`, `"\ud800"`, `{"a" : 1 , "b" : [ true , null ] }`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth),
		// Around the depth where SkipValue moves to its big stack.
		strings.Repeat("[", 64) + strings.Repeat("]", 64),
		strings.Repeat("[", 65) + strings.Repeat("]", 65),
		strings.Repeat(`{"a":[`, 40) + strings.Repeat("]}", 40),
		strings.Repeat(`{"a":[`, 40) + strings.Repeat("}]", 40),
		strings.Repeat(`[{"a":`, 33) + "1" + strings.Repeat("}]", 32) + "]}",
		`[` + strings.Repeat(`"x",`, 70) + `{"a":"é","b":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}]",
	}
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.40q) = %v, json.Valid = %v", c, got, want)
		}
	}
	// Stricter than encoding/json on one point: invalid UTF-8 in strings.
	if Valid([]byte("\"\xff\"")) {
		t.Error(`Valid accepts invalid UTF-8`)
	}
}

// FuzzValidJSON checks the scanner against encoding/json on valid UTF-8.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e3,"x\n",true,null,{}]}`, `[`, `"\ud83d\ude00"`, `-0.0e-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Valid(b)
		if !utf8.Valid(b) {
			if got {
				t.Fatalf("Valid accepts invalid UTF-8 %q", b)
			}
			return
		}
		if want := json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

func TestUnescape(t *testing.T) {
	tests := []struct {
		raw, want  string
		wantBadUTF bool // an error, with BadUTF8 set
	}{
		{raw: `a\"b\\c\/d`, want: `a"b\c/d`},
		{raw: `\b\f\n\r\t`, want: "\b\f\n\r\t"},
		{raw: `\u00e9\u20AC`, want: "é€"},
		{raw: `\ud83d\ude00!`, want: "😀!"},
		{raw: `\u0000`, want: "\x00"},
		{raw: `\ud83d`, wantBadUTF: true},
		{raw: `\ud83dx`, wantBadUTF: true},
		{raw: `\ud83d\u0041`, wantBadUTF: true},
		{raw: `\ude00`, wantBadUTF: true},
	}
	for _, tt := range tests {
		got, err := Unescape(nil, tt.raw)
		if tt.wantBadUTF {
			if e, ok := err.(*Error); !ok || !e.BadUTF8 {
				t.Errorf("Unescape(%q) error = %v, want one with BadUTF8", tt.raw, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Unescape(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}
