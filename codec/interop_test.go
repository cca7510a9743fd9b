package codec_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/codec/internal/codectest"
	"github.com/exprsn/ipcmesh/testutil"
)

// TestWireRoundTrip sends events through a server in both modes, to check
// that nats.go's header encoding keeps binary-mode values intact.
func TestWireRoundTrip(t *testing.T) {
	srv := testutil.StartServer(t)
	nc := codectest.Connect(t, srv.URL())
	sub, err := nc.SubscribeSync("wire")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	events := []*codec.Event{
		fullEvent(),
		{
			ID: " spaced id ", Source: "é€😀", Type: "a\r\nInjected: 1", Subject: "%41\"",
			DataContentType: " text/plain ; charset=utf-8", Data: []byte("\r\n"),
			Extensions: []codec.Extension{{Name: "x", Value: " \t"}},
		},
	}
	for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
		for _, ev := range events {
			msg := nats.NewMsg("wire")
			require.NoError(t, codec.EncodeMsg(msg, ev, mode))
			require.NoError(t, nc.PublishMsg(msg))
			in, err := sub.NextMsg(codectest.InteropWait)
			require.NoError(t, err)
			var got codec.Event
			require.NoError(t, codec.DecodeMsg(in, &got), "%s: %v", mode, in.Header)
			assertEvent(t, ev, &got, mode == codec.Binary)
		}
	}
}
