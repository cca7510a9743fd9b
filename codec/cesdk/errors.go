package cesdk

import (
	"strconv"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/codec"
)

// These build the *codec.Error values that package codec's unexported
// helpers of the same names build, so that ToSDK and FromSDK report errors
// in codec's words. TestErrorsMatchCodec holds them to codec's output.

func newError(sentinel error, attr, reason string) *codec.Error {
	return &codec.Error{Attribute: boundName(attr), Reason: reason, Err: sentinel}
}

// boundName cuts an attribute name longer than maxQuoted bytes (never a
// valid one) to maxQuoted bytes at a UTF-8 boundary, and adds "...".
func boundName(name string) string {
	if len(name) <= maxQuoted {
		return name
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n] + "..."
}

// maxQuoted bounds how much of an offending value goes into an error
// message, as in package codec.
const maxQuoted = 64

// quote renders an attribute value for an error message, shortened if long.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

func missing(attr string) error {
	return newError(codec.ErrMissingAttribute, attr, "required attribute is missing or empty")
}

func wrongSpecVersion(v string) error {
	if v == "" {
		return missing("specversion")
	}
	return newError(codec.ErrSpecVersion, "specversion", "got "+quote(v)+", want \""+codec.SpecVersion+"\"")
}
