package cesdk

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
)

// TestErrorsMatchCodec holds this package's error helpers to the errors
// package codec itself returns for the same problem: same attribute, reason
// (quoting and shortening included) and sentinel.
func TestErrorsMatchCodec(t *testing.T) {
	decode := func(body string) error {
		var ev codec.Event
		err := codec.Decode(nil, []byte(body), &ev)
		require.Error(t, err, body)
		return err
	}
	const rest = `"id":"1","source":"s","type":"t"}`

	assert.Equal(t, decode(`{`+rest), missing("specversion"), "no specversion")
	for _, v := range []string{"", "0.3", "é\"\n", strings.Repeat("9", maxQuoted+10)} {
		want := decode(`{"specversion":` + strconv.Quote(v) + `,` + rest)
		assert.Equal(t, want, wrongSpecVersion(v), "specversion %q", v)
		assert.Equal(t, want.Error(), wrongSpecVersion(v).Error(), "specversion %q", v)
	}
}
