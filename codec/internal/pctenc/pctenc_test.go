package pctenc

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/codec/internal/swar/swartest"
)

func TestSpecial8(t *testing.T) {
	for x := range swartest.Words {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x)
		want := false
		for _, c := range b {
			if needsPct(c) {
				want = true
			}
		}
		if got := special8(x); got != want {
			t.Fatalf("special8(% x) = %v, want %v", b, got, want)
		}
	}
}

func TestExtra(t *testing.T) {
	for _, s := range []string{"", "a", "abcdefgh", "abcdefghi", "a b", "%%%%%%%%%", `"`, "é", strings.Repeat("x", 17) + " "} {
		want := 0
		for i := 0; i < len(s); i++ {
			if needsPct(s[i]) {
				want += 2
			}
		}
		if got := Extra(s); got != want {
			t.Errorf("Extra(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	for _, tt := range []struct{ s, want string }{
		{"", ""}, {"plain-value_1", ""}, {"a b", "a%20b"}, {`"%"`, "%22%25%22"},
		{"é\x7f\x00", "%C3%A9%7F%00"}, {"0123456789 abcdef", "0123456789%20abcdef"},
	} {
		var sb strings.Builder
		Write(&sb, tt.s)
		if got := sb.String(); got != tt.want {
			t.Errorf("Write(%q) writes %q, want %q", tt.s, got, tt.want)
		}
		if got := Size(tt.s); got != len(tt.want) {
			t.Errorf("Size(%q) = %d, want %d", tt.s, got, len(tt.want))
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		v, want string
		bad     int
		ok      bool
	}{
		{"", "", 0, true}, {"a%20b", "a b", 0, true}, {"%c3%A9%25", "é%", 0, true},
		{"ab%2", "", 2, false}, {"%", "", 0, false}, {"x%zz%2", "", 1, false}, {"%2x", "", 0, false},
		{"%C0%A0", "", -1, false}, {"%ff", "", -1, false},
	} {
		got, bad, ok := Decode(tt.v)
		if got != tt.want || bad != tt.bad || ok != tt.ok {
			t.Errorf("Decode(%q) = %q, %d, %v; want %q, %d, %v", tt.v, got, bad, ok, tt.want, tt.bad, tt.ok)
		}
	}
	// Decode undoes Write.
	for _, s := range []string{"a b", `"%"`, "é\x7f\x00", "plain"} {
		var sb strings.Builder
		Write(&sb, s)
		enc := sb.String()
		if enc == "" {
			enc = s
		}
		if got, _, ok := Decode(enc); !ok || got != s {
			t.Errorf("Decode(%q) = %q, %v; want %q", enc, got, ok, s)
		}
	}
}
