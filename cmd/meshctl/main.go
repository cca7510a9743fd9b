// Meshctl is the operator command line of an ipcmesh event mesh: it runs the
// bridge (an embedded NATS server with JetStream and the stats HTTP API),
// emits events and requests, tails the live traffic, replays stored events
// to a service, manages dead letters and durable handlers' consumers, and
// shows the mesh's statistics.
//
// Run meshctl --help for the commands, and see docs/operations.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/internal/operator/render"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := newApp(os.Stdin, os.Stdout, os.Stderr).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// app is one run of meshctl: its input and outputs, its clock and the
// global flags. Tests build one with buffers and run commands in process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// now is the clock of relative times (replay --since, --until).
	now func() time.Time
	// conn and namespaceFlag are the global flags.
	conn          conn.Flags
	namespaceFlag string
	// served, if set, is called with the running bridge once meshctl serve
	// is ready; tests use it to learn the bridge's URLs.
	served func(*bridge.Bridge)
}

// newApp returns an app reading stdin and writing stdout and stderr, on the
// real clock.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
}

// run runs the command line args and returns the process exit code. An
// error is printed as one line on stderr: "meshctl: ...".
func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(a.stderr, "meshctl: %s\n", render.OneLine(err.Error()))
		return 1
	}
	return 0
}
