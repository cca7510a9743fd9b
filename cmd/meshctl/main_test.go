package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is what one meshctl run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// running is a meshctl run in the background.
type running struct {
	stdout, stderr *testutil.Buffer
	cancel         context.CancelFunc
	done           chan int
}

// start runs meshctl with args in the background, with an empty stdin;
// setup, if not nil, changes the app first. Stop it with stop.
func start(setup func(*app), args ...string) *running {
	r := &running{stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, done: make(chan int, 1)}
	a := newApp(strings.NewReader(""), r.stdout, r.stderr)
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- a.run(ctx, args) }()
	return r
}

// stop interrupts the run, as Ctrl-C would, and returns its result.
func (r *running) stop(t testing.TB) result {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		return result{stdout: r.stdout.String(), stderr: r.stderr.String(), code: code}
	case <-time.After(testutil.DefaultWait):
		t.Fatalf("meshctl did not stop; stderr: %s", r.stderr.String())
		return result{}
	}
}

// meshctlWith runs meshctl with args to the end; setup, if not nil, changes
// the app first.
func meshctlWith(t testing.TB, setup func(*app), args ...string) result {
	t.Helper()
	r := start(setup, args...)
	select {
	case code := <-r.done:
		r.cancel()
		return result{stdout: r.stdout.String(), stderr: r.stderr.String(), code: code}
	case <-time.After(testutil.DefaultWait):
		r.cancel()
		t.Fatalf("meshctl %s did not finish; stderr: %s", strings.Join(args, " "), r.stderr.String())
		return result{}
	}
}

// meshctl runs meshctl with args to the end.
func meshctl(t testing.TB, args ...string) result {
	t.Helper()
	return meshctlWith(t, nil, args...)
}

// succeed runs meshctl with args and fails the test unless it succeeds.
func succeed(t testing.TB, args ...string) string {
	t.Helper()
	r := meshctl(t, args...)
	require.Equal(t, 0, r.code, "meshctl %s: stderr: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

// withStdin makes the app read in as its standard input.
func withStdin(in string) func(*app) {
	return func(a *app) { a.stdin = strings.NewReader(in) }
}

// startServe runs meshctl serve on free ports with its store in a temporary
// directory, and returns the running bridge; it stops with the test and
// must stop cleanly.
func startServe(t testing.TB, flags ...string) *bridge.Bridge {
	t.Helper()
	ready := make(chan *bridge.Bridge, 1)
	r := start(func(a *app) { a.served = func(b *bridge.Bridge) { ready <- b } },
		append([]string{"serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store", t.TempDir()}, flags...)...)
	select {
	case b := <-ready:
		t.Cleanup(func() {
			res := r.stop(t)
			require.Equal(t, 0, res.code, "serve: %s", res.stderr)
			require.Contains(t, res.stdout, "meshctl serve: stopped")
		})
		return b
	case code := <-r.done:
		t.Fatalf("serve exited with %d: %s", code, r.stderr.String())
	case <-time.After(testutil.DefaultWait):
		t.Fatalf("serve not ready: %s", r.stderr.String())
	}
	return nil
}

// waitFor waits until out contains want.
func waitFor(t *testing.T, out *testutil.Buffer, want string) {
	t.Helper()
	if !assert.Eventually(t, func() bool { return strings.Contains(out.String(), want) }, testutil.DefaultWait, 5*time.Millisecond) {
		t.Fatalf("waiting for %q in %q", want, out.String())
	}
}

// requireOneErrorLine checks that stderr is one "meshctl: ..." line that
// contains want.
func requireOneErrorLine(t *testing.T, stderr, want string) {
	t.Helper()
	require.True(t, strings.HasPrefix(stderr, "meshctl: "), stderr)
	require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	require.True(t, strings.HasSuffix(stderr, "\n"), stderr)
	require.Contains(t, stderr, want)
}
