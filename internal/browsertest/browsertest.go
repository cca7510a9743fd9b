// Package browsertest runs real-browser tests: Debian's chromium, headless,
// driven with chromedp. The tests that use it carry the build tag browser
// and are named ...InABrowser, which is what make browser runs (go test
// -tags browser -run InABrowser, with MESH_BROWSER_REQUIRED=1).
//
// A test calls [Require] for the browser (skipped without it, unless
// MESH_BROWSER_REQUIRED is set), [Start] for a tab, [Exceptions] before it
// opens its page, and then [Run], [WaitJS], [Eval] and [Text], each of
// which fails the test after [testutil.DefaultWait]. A failed test leaves a
// screenshot of its page in MESH_BROWSER_ARTIFACTS (default: the system's
// temporary directory) and logs the browser's output.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// Require returns the path of the chromium on PATH. Without one it skips
// the test, naming the package to install, or, when the environment
// variable MESH_BROWSER_REQUIRED is set to anything, fails it.
func Require(t testing.TB) string {
	t.Helper()
	exe, err := exec.LookPath("chromium")
	if err == nil {
		return exe
	}
	if os.Getenv("MESH_BROWSER_REQUIRED") != "" {
		t.Fatalf("browsertest: find chromium: %v (MESH_BROWSER_REQUIRED is set): apt-get install -y chromium", err)
	}
	t.Skip("browsertest: chromium is missing (apt-get install -y chromium); set MESH_BROWSER_REQUIRED=1 to fail instead")
	return ""
}

// Start starts the browser exe with a fresh profile (a directory of
// t.TempDir) and a 1280x1800 window, headless, with --no-sandbox (tests
// run as root), --disable-gpu, --disable-quic, --no-first-run,
// --disable-background-networking, --disable-component-update and
// --disable-sync among chromedp's default flags, and returns the context
// of its tab, started. The browser stops when the test ends; if the test
// failed, it first leaves a screenshot of the page and logs the browser's
// output. Derive deadlines from the context for each action (as the
// helpers here do), never for the whole browser.
func Start(t testing.TB, exe string) context.Context {
	t.Helper()
	var output testutil.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1800),
		chromedp.CombinedOutput(&output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if t.Failed() {
			keepScreenshot(t, ctx)
			t.Logf("chromium's output:\n%s", output.String())
		}
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, so it has no deadline: one would
	// stop the browser with it.
	require.NoError(t, chromedp.Do(ctx), "browsertest: start chromium")
	return ctx
}

// Exceptions watches the page of ctx for exceptions nothing caught (and
// promise rejections nothing handled) and returns a func that lists those
// seen so far. Call it before opening the page: exceptions thrown earlier
// are not seen. The watch ends with ctx.
func Exceptions(ctx context.Context) func() []string {
	var mu sync.Mutex
	var got []string
	messages := chromedp.Console(ctx) // subscribes now
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() {
				mu.Lock()
				got = append(got, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// Run runs the actions in the page of ctx, in order, and fails the test
// if one fails or they take longer than testutil.DefaultWait.
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...))
}

// WaitJS waits until the JavaScript expression is truthy in the page of
// ctx, evaluating it every 20 ms, and fails the test if it is not within
// testutil.DefaultWait.
func WaitJS(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(testutil.DefaultWait)))
	require.NoError(t, err, "waiting for %s", expr)
}

// Eval returns the value of a JavaScript expression whose value is a
// string, evaluated in the page of ctx; it fails the test if the
// expression throws, makes another type or takes longer than
// testutil.DefaultWait.
func Eval(t testing.TB, ctx context.Context, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	require.NoError(t, err, expr)
	return v
}

// Text returns the text content of the first element of the page of ctx
// that matches the CSS selector, waiting for one at most
// testutil.DefaultWait.
func Text(t testing.TB, ctx context.Context, selector string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(selector)))
	require.NoError(t, err, selector)
	return v
}

// Screenshot saves a PNG of the whole page of ctx in file, and fails the
// test if it cannot within testutil.DefaultWait.
func Screenshot(t testing.TB, ctx context.Context, file string) {
	t.Helper()
	require.NoError(t, screenshot(ctx, file))
}

// keepScreenshot saves a screenshot of the page as the failed test's
// artifact: MESH_BROWSER_ARTIFACTS (default: the system's temporary
// directory)/<test name>-<time>.png. It only logs its own failure.
func keepScreenshot(t testing.TB, ctx context.Context) {
	dir := os.Getenv("MESH_BROWSER_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	name := fmt.Sprintf("%s-%s.png", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().Format("20060102-150405"))
	file := filepath.Join(dir, name)
	if err := screenshot(ctx, file); err != nil {
		t.Logf("no screenshot of the page: %v", err)
		return
	}
	t.Logf("screenshot of the page: %s", file)
}

// screenshot saves a PNG of the whole page of ctx in file, within
// testutil.DefaultWait.
func screenshot(ctx context.Context, file string) error {
	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browsertest: screenshot page: %w", err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		return fmt.Errorf("browsertest: write screenshot: %w", err)
	}
	return nil
}
