package cesdk

import (
	"strconv"

	"github.com/exprsn/ipcmesh/codec"
)

// These build the *codec.Error values that package codec's unexported
// helpers of the same names build, so that ToSDK and FromSDK report errors
// in codec's words. TestErrorsMatchCodec holds them to codec's output.

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
	return codec.NewError(codec.ErrMissingAttribute, attr, "required attribute is missing or empty")
}

func wrongSpecVersion(v string) error {
	if v == "" {
		return missing("specversion")
	}
	return codec.NewError(codec.ErrSpecVersion, "specversion", "got "+quote(v)+", want \""+codec.SpecVersion+"\"")
}
