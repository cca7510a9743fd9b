//go:build browser

package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/exprsn/ipcmesh/internal/browsertest"
	"github.com/stretchr/testify/require"
)

// TestFeedInABrowser opens the example's page in headless Chromium (make
// browser; see internal/browsertest): the page loads nats.ws from
// /nats.js, connects over WebSocket as the browser user, shows the post
// and u42's notification the mesh emits and not u7's, its Peek button
// shows the server's refusal, and it throws no exception.
func TestFeedInABrowser(t *testing.T) {
	exe := browsertest.Require(t)
	requireNode(t) // the page needs the nats.ws bundle from node_modules
	a := startApp(t)
	ctx := browsertest.Start(t, exe)
	exceptions := browsertest.Exceptions(ctx)
	browsertest.Run(t, ctx, chromedp.Navigate("http://"+a.addr+"/"))

	browsertest.WaitJS(t, ctx, `document.getElementById("status").dataset.state !== undefined`)
	require.Equal(t, "connected", browsertest.Eval(t, ctx, `document.getElementById("status").dataset.state`),
		"the page did not connect: %s", browsertest.Text(t, ctx, "#status"))

	require.NoError(t, a.emit(t.Context()))
	browsertest.WaitJS(t, ctx, `document.querySelector("#posts li") !== null && document.querySelector("#mine li") !== null`)
	require.Equal(t, "post:created", types(t, ctx, "posts"))
	require.Equal(t, "user:u42:notification", types(t, ctx, "mine"), "u42's notification only, never u7's")
	require.Empty(t, types(t, ctx, "errors"))

	browsertest.Run(t, ctx, chromedp.Click(chromedp.ID("peek")))
	browsertest.WaitJS(t, ctx, `document.getElementById("refusal").dataset.state !== undefined`)
	require.Equal(t, "refused", browsertest.Eval(t, ctx, `document.getElementById("refusal").dataset.state`),
		"peek: %s", browsertest.Text(t, ctx, "#refusal"))
	require.Empty(t, exceptions(), "the page threw")
}

// types returns the event types the page's list shows, newest first,
// joined by commas.
func types(t *testing.T, ctx context.Context, list string) string {
	t.Helper()
	return browsertest.Eval(t, ctx, `[...document.querySelectorAll("#`+list+` li")].map(li => li.dataset.type).join(",")`)
}
