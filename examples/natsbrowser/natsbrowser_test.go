package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/testutil"
)

// natsJS is the nats.ws bundle, installed by npm ci --prefix
// examples/natsbrowser (make interop-deps).
const natsJS = "node_modules/nats.ws/esm/nats.js"

// startApp starts the example on a free port, closed in t.Cleanup.
func startApp(t *testing.T) *app {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	a, err := start(ctx, l, natsJS, t.TempDir())
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		if err := a.close(ctx); err != nil {
			t.Error(err)
		}
	})
	return a
}

// requireNode returns node's path, or fails the test saying what to
// install (skips with -short).
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	problem := ""
	switch {
	case err != nil:
		problem = "node is not on PATH"
	case !fileExists(natsJS) || !fileExists("node_modules/ws/package.json"):
		problem = "examples/natsbrowser/node_modules is missing"
	default:
		out, err := exec.Command(node, "--version").Output()
		major, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")[0])
		if err != nil || major < 20 {
			problem = "node 20 or later is needed, not " + strings.TrimSpace(string(out))
		}
	}
	if problem == "" {
		return node
	}
	const hint = "; run `npm ci --prefix examples/natsbrowser` (make interop-deps) with Node.js 20 or later, or go test -short to skip"
	if testing.Short() {
		t.Skip(problem + hint)
	}
	t.Fatal(problem + hint)
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// clientLine is a line client.mjs prints.
type clientLine struct {
	Kind, Feed, Type, Code string
	Data                   struct{ N int64 }
}

// TestNodeClient runs the page's feed.js with the nats.ws bundle under
// Node.js over WebSocket, as the browser user: it receives the new posts
// and its user's notifications the mesh emits and none of the other
// user's, and its subscription to the other user's events is refused.
func TestNodeClient(t *testing.T) {
	node := requireNode(t)
	a := startApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.DefaultWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", "http://"+a.addr+"/")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testutil.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("client.mjs: %v\n%s", err, stderr.String())
		}
	}()
	lines := make(chan clientLine, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l clientLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("client.mjs printed %q: %v", sc.Text(), err)
			}
			lines <- l
		}
	}()
	next := func() clientLine {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("client.mjs stopped\n%s", stderr.String())
			}
			return l
		case <-ctx.Done():
			t.Fatalf("client.mjs said nothing more\n%s", stderr.String())
		}
		return clientLine{}
	}
	if l := next(); l.Kind != "ready" {
		t.Fatalf("first line %+v, want ready", l)
	}
	for range 2 {
		if err := a.emit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Each feed in order; the two feeds' subscriptions interleave freely.
	got := map[string][]int64{}
	for range 4 {
		l := next()
		if l.Kind != "event" {
			t.Fatalf("line %+v, want an event", l)
		}
		got[l.Type] = append(got[l.Type], l.Data.N)
	}
	if fmt.Sprint(got) != "map[post:created:[1 2] user:u42:notification:[1 2]]" {
		t.Fatalf("the client received %v, want posts 1 and 2 and u42's notifications 1 and 2 (and nothing for u7)", got)
	}
	if _, err := stdin.Write([]byte("peek\n")); err != nil {
		t.Fatal(err)
	}
	if l := next(); l.Kind != "peek" || l.Code != "PERMISSIONS_VIOLATION" {
		t.Fatalf("peek at u7's events: %+v, want a PERMISSIONS_VIOLATION", l)
	}
	// Still following after the refusal: the third round, u42's only.
	if err := a.emit(ctx); err != nil {
		t.Fatal(err)
	}
	got = map[string][]int64{}
	for range 2 {
		l := next()
		got[l.Type] = append(got[l.Type], l.Data.N)
	}
	if fmt.Sprint(got) != "map[post:created:[3] user:u42:notification:[3]]" {
		t.Fatalf("after the refusal the client received %v, want the third post and notification", got)
	}
}
