//go:build browser

package bridge

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/exprsn/ipcmesh/internal/browsertest"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// The browser tests run with make browser (go test -tags browser), on
// internal/browsertest: Debian's chromium, skipped without it unless
// MESH_BROWSER_REQUIRED is set (make browser sets it), and a screenshot in
// MESH_BROWSER_ARTIFACTS of a failed test's page. Here
// MESH_DASHBOARD_SCREENSHOT=FILE also saves one of the passing dashboard
// (for docs/operations.md).

// TestDashboardInABrowser: headless Chromium opens the dashboard of a
// running bridge and sees a worker's service appear, its emitted events in
// the live tail and their type's count go up, a dead letter in the list and
// its details; the tail's filter narrows the events it shows and says why
// a pattern is refused; and the page throws no exception.
func TestDashboardInABrowser(t *testing.T) {
	exe := browsertest.Require(t)
	b := start(t)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	ctx := browsertest.Start(t, exe)
	exceptions := browsertest.Exceptions(ctx)
	browsertest.Run(t, ctx, chromedp.Navigate(b.HTTPURL()+"/"))
	browsertest.WaitJS(t, ctx, `document.getElementById("status").textContent === "live"`)
	browsertest.WaitJS(t, ctx, `document.getElementById("tail-status").textContent === "live: >"`)

	orders := connect(t, b, "orders")
	for i := range 3 {
		require.NoError(t, orders.Emit(t.Context(), "order:created", map[string]int{"n": i}))
	}
	browsertest.WaitJS(t, ctx, `document.querySelectorAll('#tail tr[data-type="order:created"]').length === 3`)
	browsertest.WaitJS(t, ctx, `document.querySelector('#services tr[data-service="orders"]') !== null`)
	browsertest.WaitJS(t, ctx, `document.querySelector('#types tr[data-type="order:created"] td.emitted')?.textContent === "3"`)
	first := browsertest.Text(t, ctx, `#tail tr[data-type="order:created"]:last-child td.data`)
	require.JSONEq(t, `{"n": 0}`, first, "the oldest at the bottom, its data shown")

	herald := connect(t, b, "exprsn-herald")
	rec := testutil.NewRecorder()
	rec.FailWith(mesh.Permanent(errors.New("template missing")))
	_, err := herald.OnDurable(t.Context(), "mail:send", rec)
	require.NoError(t, err)
	require.NoError(t, herald.Emit(t.Context(), "mail:send", map[string]string{"to": "ana"}, mesh.ToSelf()))
	browsertest.WaitJS(t, ctx, `document.querySelectorAll('#letters tr[data-letter]').length === 1`)
	require.Contains(t, browsertest.Text(t, ctx, `#letters tr[data-letter]`), "permanent: template missing")
	browsertest.WaitJS(t, ctx, `document.querySelector('#consumers tr[data-handler^="exprsn-herald_mail_send"]') !== null`)
	browsertest.Run(t, ctx, chromedp.Click(chromedp.CSS(`#letters tr[data-letter] button`)))
	browsertest.WaitJS(t, ctx, `document.getElementById("letter-detail").textContent.includes('"to": "ana"')`)
	require.Equal(t, "true", browsertest.Eval(t, ctx, `String(document.querySelector('#letters button.action').disabled)`),
		"actions are off by default")

	// The filter: a refused pattern says why; a valid one narrows the tail.
	setFilter(t, ctx, "order..x")
	browsertest.WaitJS(t, ctx, `document.getElementById("tail-filter").classList.contains("invalid")`)
	require.Contains(t, browsertest.Text(t, ctx, "#tail-status"), "dashboard: event pattern")
	setFilter(t, ctx, "user:*")
	browsertest.WaitJS(t, ctx, `document.getElementById("tail-status").textContent === "live: user:*"`)
	require.NoError(t, orders.Emit(t.Context(), "order:created", map[string]int{"n": 3}))
	require.NoError(t, orders.Emit(t.Context(), "user:login", nil))
	browsertest.WaitJS(t, ctx, `document.querySelector('#tail tr[data-type="user:login"]') !== null`)
	require.Equal(t, "3", browsertest.Eval(t, ctx, `String(document.querySelectorAll('#tail tr[data-type="order:created"]').length)`),
		"the order:created sent before user:login is not shown")
	browsertest.WaitJS(t, ctx, `document.querySelector('#types tr[data-type="order:created"] td.emitted')?.textContent === "4"`)

	if file := os.Getenv("MESH_DASHBOARD_SCREENSHOT"); file != "" {
		browsertest.Screenshot(t, ctx, file)
	}
	require.Empty(t, exceptions(), "the page threw")
}

// setFilter types pattern in the live tail's filter and applies it.
func setFilter(t *testing.T, ctx context.Context, pattern string) {
	t.Helper()
	browsertest.Run(t, ctx,
		chromedp.SetValue(chromedp.CSS("#tail-filter"), pattern),
		chromedp.Click(chromedp.CSS(`#tail-form button[type="submit"]`)))
}

// connect connects a worker for service to the bridge, quiet, closed with
// the test.
func connect(t *testing.T, b *Bridge, service string) *mesh.Worker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w, err := mesh.Connect(ctx, mesh.Config{Service: service, Servers: []string{b.NATSURL()}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.Close(context.Background())) })
	return w
}
