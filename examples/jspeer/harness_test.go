package jspeer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/testutil"
)

// installHint says how to get what the JavaScript tests need.
const installHint = "the JavaScript peer tests need Node.js 20 or later (node on PATH) and the peer's packages: " +
	"run `npm ci --prefix examples/jspeer` (or go test -short to skip these tests)"

// requireNode returns the path of node, or fails the test saying what to
// install; with -short it skips instead. With modules, the peer's npm
// packages must be installed too.
func requireNode(t *testing.T, modules bool) string {
	t.Helper()
	problem := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		problem = "node is not on PATH"
	case modules && !fileExists("node_modules/nats/package.json"):
		problem = "examples/jspeer/node_modules is missing"
	default:
		out, err := exec.Command(node, "--version").Output()
		v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
		major, _ := strconv.Atoi(strings.Split(v, ".")[0])
		if err != nil || major < 20 {
			problem = "node " + v + " is too old"
		}
	}
	if problem == "" {
		return node
	}
	if testing.Short() {
		t.Skip(problem + "; " + installHint)
	}
	t.Fatal(problem + "; " + installHint)
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// line is one line peer.mjs writes on stdout.
type line struct {
	Kind    string     `json:"kind"`
	Tag     string     `json:"tag"`
	Handler string     `json:"handler"`
	ID      string     `json:"id"`
	Event   *peerEvent `json:"event"`
	Error   *struct {
		Name    string `json:"name"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Class   string `json:"class"`
	Message string `json:"message"`
	// Stream, Sequence and Duplicate are an emit's receipt: where the
	// event stream stored the event, or that it dropped the publish as a
	// duplicate.
	Stream    string `json:"stream"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
	raw       string
}

// peerEvent is an event as the peer reports it.
type peerEvent struct {
	ID              string            `json:"id"`
	Source          string            `json:"source"`
	Type            string            `json:"type"`
	Time            string            `json:"time"`
	DataContentType string            `json:"datacontenttype"`
	Subject         string            `json:"subject"`
	Extensions      map[string]string `json:"extensions"`
	Target          string            `json:"target"`
	NATSSubject     string            `json:"natsSubject"`
	Data            json.RawMessage   `json:"data"`
	DataBase64      string            `json:"data_base64"`
}

// peer is a running peer.mjs, its output collected line by line.
type peer struct {
	stdin  io.WriteCloser
	stderr testutil.Buffer

	mu      sync.Mutex
	lines   []line
	changed chan struct{} // closed and replaced on every new line
	exited  chan struct{} // closed when stdout ends
}

// startPeer starts peer.mjs for service against the server at url, with
// more command-line flags if any (--namespace, --inbox-prefix), and waits
// until it is ready. Cleanup closes its stdin, which makes it close its
// connection and exit, and kills it if it has not within DefaultWait.
func startPeer(t *testing.T, node, url, service string, flags ...string) *peer {
	t.Helper()
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, append([]string{"peer.mjs", "--server", url, "--service", service}, flags...)...)
	p := &peer{changed: make(chan struct{}), exited: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the JavaScript peer: %v", err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(testutil.DefaultWait):
			t.Errorf("the JavaScript peer did not exit after its stdin closed")
		}
		kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("JavaScript peer stderr:\n%s", p.stderr.String())
		}
	})
	p.wait(t, "ready", func(l line) bool { return l.Kind == "ready" })
	return p
}

func (p *peer) read(stdout io.Reader) {
	defer close(p.exited)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		l := line{raw: sc.Text()}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			l.Kind = "unparsed"
		}
		p.mu.Lock()
		p.lines = append(p.lines, l)
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

// send writes one command to the peer.
func (p *peer) send(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("write to the JavaScript peer: %v", err)
	}
}

// all returns the lines written so far that satisfy match.
func (p *peer) all(match func(line) bool) []line {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []line
	for _, l := range p.lines {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// wait returns the first line that satisfies match, waiting for it at most
// testutil.DefaultWait; it fails the test if the peer exits or the time
// runs out first.
func (p *peer) wait(t *testing.T, what string, match func(line) bool) line {
	t.Helper()
	deadline := time.NewTimer(testutil.DefaultWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		if got := p.all(match); len(got) > 0 {
			return got[0]
		}
		select {
		case <-changed:
		case <-p.exited:
			if got := p.all(match); len(got) > 0 {
				return got[0]
			}
			t.Fatalf("the JavaScript peer exited before %s; stderr:\n%s", what, p.stderr.String())
		case <-deadline.C:
			t.Fatalf("no %s from the JavaScript peer within %s; it wrote:\n%s", what, testutil.DefaultWait, p.transcript())
		}
	}
}

// tagged waits for the answer to the command tagged tag.
func (p *peer) tagged(t *testing.T, tag string) line {
	t.Helper()
	return p.wait(t, "answer to "+tag, func(l line) bool { return l.Tag == tag })
}

// received waits for the event with id, as a handler of the peer got it.
func (p *peer) received(t *testing.T, id string) *peerEvent {
	t.Helper()
	return p.wait(t, "event "+id, func(l line) bool { return l.Kind == "event" && l.Event != nil && l.Event.ID == id }).Event
}

func (p *peer) transcript() string {
	var lines []string
	for _, l := range p.all(func(line) bool { return true }) {
		lines = append(lines, l.raw)
	}
	return strings.Join(lines, "\n")
}
