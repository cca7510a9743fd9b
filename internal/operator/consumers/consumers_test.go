package consumers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttribute(t *testing.T) {
	for _, tt := range []struct {
		desc, service, pattern string
		ok                     bool
	}{
		{"ipcmesh: exprsn-herald handler for mail:send", "exprsn-herald", "mail:send", true},
		{"ipcmesh: billing handler for order:>", "billing", "order:>", true},
		{"ipcmesh: billing handler for ", "", "", false},
		{"ipcmesh:  handler for x:y", "", "", false},
		{"ipcmesh: billing", "", "", false},
		{"audit of every event", "", "", false},
		{"", "", "", false},
	} {
		service, pattern, ok := Attribute(tt.desc)
		require.Equal(t, tt.ok, ok, tt.desc)
		require.Equal(t, tt.service, service, tt.desc)
		require.Equal(t, tt.pattern, pattern, tt.desc)
	}
}
