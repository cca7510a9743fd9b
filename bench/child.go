package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Child processes: measurements of memory and CPU run in processes of
// their own, this program (or the test binary) started again with
// childRoleEnv naming the role and childArgEnv its argument (a server URL
// or a directory),
// so that nothing else shares their heap. A child reads requests on stdin,
// one a line ("verb argument"), and answers each with one line on stdout:
// "ok <JSON>" or "err <message>". It ends when stdin closes.
const (
	childRoleEnv = "IPCMESH_BENCH_CHILD"
	childArgEnv  = "IPCMESH_BENCH_CHILD_ARG"
)

// The roles of child processes.
const (
	roleMemory       = "memory"        // memory.go: one worker with 20 handlers
	roleServer       = "server"        // consumers.go: a nats-server
	roleMeshDurables = "mesh-durables" // consumers.go: one worker's durable handlers
	roleRawDurables  = "raw-durables"  // consumers.go: raw durable consumers
	roleMeshOthers   = "mesh-others"   // scale.go: other services' live handlers
	roleRawOthers    = "raw-others"    // scale.go: other clients' subscriptions
)

func isChild() bool { return os.Getenv(childRoleEnv) != "" }

// childMain runs the child role named by the environment until stdin
// closes.
func childMain() error {
	arg := os.Getenv(childArgEnv)
	var (
		serve func(verb, arg string) (any, error)
		done  func()
		err   error
	)
	switch role := os.Getenv(childRoleEnv); role {
	case roleMemory:
		serve, done = memChild(arg)
	case roleServer:
		serve, done, err = serverChild(arg)
	case roleMeshDurables, roleRawDurables:
		serve, done, err = durablesChild(role, arg)
	case roleMeshOthers, roleRawOthers:
		serve, done = othersChild(role, arg)
	default:
		return fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		return err
	}
	defer done()
	return serveRequests(os.Stdin, os.Stdout, serve)
}

// childLogger is the logger of the mesh workers of a child process: warnings
// and errors on stderr (stdout carries the answers).
func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// serveRequests answers the requests read from in on out until in ends.
func serveRequests(in io.Reader, out io.Writer, serve func(verb, arg string) (any, error)) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(sc.Text(), " ")
		v, err := serve(verb, arg)
		var b []byte
		if err == nil {
			b, err = json.Marshal(v)
		}
		if err != nil {
			fmt.Fprintf(out, "err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Fprintf(out, "ok %s\n", b)
	}
	return sc.Err()
}

// child is a running child process.
type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startChild starts a child process in role with arg.
func startChild(role, arg string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, childArgEnv+"="+arg)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s child: %w", role, err)
	}
	return &child{role: role, cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// ask sends a request and decodes the answer into v (nil: ignore it).
func (c *child) ask(v any, verb string, arg ...any) error {
	line := verb
	for _, a := range arg {
		line += " " + fmt.Sprint(a)
	}
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return fmt.Errorf("%s child: %s: %w", c.role, verb, err)
	}
	if !c.out.Scan() {
		return fmt.Errorf("%s child: %s: no answer: %v", c.role, verb, c.out.Err())
	}
	status, body, _ := strings.Cut(c.out.Text(), " ")
	switch {
	case status == "err":
		return fmt.Errorf("%s child: %s: %s", c.role, verb, body)
	case status != "ok":
		return fmt.Errorf("%s child: %s: unexpected answer %q", c.role, verb, c.out.Text())
	case v == nil:
		return nil
	}
	return json.Unmarshal([]byte(body), v)
}

// stop closes the child's stdin and waits for it to end, at most a minute.
func (c *child) stop() error {
	c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		return errors.Join(fmt.Errorf("%s child: still running a minute after its input closed", c.role), <-done)
	}
}

// kill ends the child at once.
func (c *child) kill() {
	c.in.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// procMem is a process's memory after a full collection that returned
// what it could to the operating system.
type procMem struct {
	Heap       int64 `json:"heap"`  // live heap bytes
	Stack      int64 `json:"stack"` // goroutine stack bytes
	Goroutines int   `json:"goroutines"`
	RSS        int64 `json:"rss"` // resident set, 0 where /proc is missing
}

func readProcMem() procMem {
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return procMem{Heap: int64(m.HeapAlloc), Stack: int64(m.StackInuse), Goroutines: runtime.NumGoroutine(), RSS: residentSet()}
}

// residentSet returns VmRSS from /proc/self/status, 0 if it cannot.
func residentSet() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cpuTime returns the CPU time the process used so far, user and system.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// serveProc answers the requests every child answers: "mem" (procMem) and
// "cpu" (cpuTime, in nanoseconds); ok is false for other verbs.
func serveProc(verb string) (v any, ok bool, err error) {
	switch verb {
	case "mem":
		return readProcMem(), true, nil
	case "cpu":
		d, err := cpuTime()
		return int64(d), true, err
	}
	return nil, false, nil
}
