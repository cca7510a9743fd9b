package errtext_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/internal/errtext"
)

type nilPointer struct{ msg string }

func (e *nilPointer) Error() string { return e.msg }

type panics struct{}

func (panics) Error() string { panic("boom") }

func TestOf(t *testing.T) {
	var typedNil *nilPointer
	for _, tc := range []struct {
		name string
		err  error
		n    int
		want string
	}{
		{"nil", nil, 10, "<nil>"},
		{"short", errors.New("short"), 10, "short"},
		{"cut at a UTF-8 boundary", errors.New(strings.Repeat("é", 10)), 9, "éééé"},
		{"typed nil pointer", typedNil, 1000, "*errtext_test.nilPointer (its Error method panicked: runtime error: invalid memory address or nil pointer dereference)"},
		{"panicking Error", panics{}, 1000, "errtext_test.panics (its Error method panicked: boom)"},
		{"panicking Error, cut", panics{}, 10, "errtext_te"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errtext.Of(tc.err, tc.n); got != tc.want {
				t.Errorf("Of(%s, %d) = %q, want %q", tc.name, tc.n, got, tc.want)
			}
		})
	}
}

func TestCutKeepsTheError(t *testing.T) {
	inner := &nilPointer{msg: strings.Repeat("x", 100)}
	err := errtext.Cut(inner, 10)
	var got *nilPointer
	if !errors.As(err, &got) || got != inner {
		t.Errorf("errors.As through Cut: %v", got)
	}
	if err.Error() != "xxxxxxxxxx" {
		t.Errorf("Cut's text %q, want 10 bytes", err.Error())
	}
	if errtext.Cut(nil, 10) != nil {
		t.Error("Cut(nil) is not nil")
	}
}
