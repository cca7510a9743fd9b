package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
)

// The memory measurement runs in a child process (this program, or the
// test binary, with memChildEnv set to the server's URL), so that neither the embedded server nor the other contenders
// share its heap: the child reads its heap after a GC, connects one worker
// with 20 handlers to the parent's server, and reads it again. Then the
// parent emits memHeld events to one of those handlers, which holds them;
// the child reads its heap and stacks with them in flight.

// Environment of the memory child: the server URL and the payload sizes.
const (
	memChildEnv      = "IPCMESH_BENCH_MEMCHILD"
	memChildSizesEnv = "IPCMESH_BENCH_MEMCHILD_SIZES"
)

func isMemChild() bool { return os.Getenv(memChildEnv) != "" }

func memChildMain() error {
	sizes, err := parseSizes(os.Getenv(memChildSizesEnv))
	if err != nil {
		return err
	}
	return memChild(os.Getenv(memChildEnv), sizes)
}

const (
	memHandlers = 20
	memHeld     = 200 // under mesh.DefaultMaxConcurrent
)

// memResult is what the child reports.
type memResult struct {
	IdleHeap       int64         `json:"idle_heap"`
	IdleStack      int64         `json:"idle_stack"`
	IdleGoroutines int           `json:"idle_goroutines"`
	PerEvent       map[int]int64 `json:"per_event"`       // payload size -> heap+stack bytes per held event
	PerEventHeap   map[int]int64 `json:"per_event_heap"`  // heap part
	PerEventStack  map[int]int64 `json:"per_event_stack"` // stack part
}

func readMem() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// memChild is the child process: it reads commands on stdin and writes
// replies on stdout.
func memChild(url string, sizes []int) error {
	base := readMem()
	baseG := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "mem-idle", Namespace: "mem", Servers: []string{url}})
	if err != nil {
		return err
	}
	defer closeWorker(w)
	var held atomic.Int64
	release := make(chan struct{})
	full := make(chan struct{}, 1)
	for i := range memHandlers - 1 {
		if _, err := w.On(ctx, fmt.Sprintf("mem:event%d", i), mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return nil })); err != nil {
			return err
		}
	}
	_, err = w.On(ctx, "mem:hold", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		if held.Add(1) == memHeld {
			full <- struct{}{}
		}
		<-release
		return nil
	}))
	if err != nil {
		return err
	}
	idle := readMem()
	res := memResult{
		IdleHeap:       int64(idle.HeapAlloc) - int64(base.HeapAlloc),
		IdleStack:      int64(idle.StackInuse) - int64(base.StackInuse),
		IdleGoroutines: runtime.NumGoroutine() - baseG,
		PerEvent:       map[int]int64{},
		PerEventHeap:   map[int]int64{},
		PerEventStack:  map[int]int64{},
	}
	in := bufio.NewScanner(os.Stdin)
	for _, size := range sizes {
		before := readMem()
		fmt.Printf("READY %d\n", size)
		select {
		case <-full:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("%d of %d events held after 30s", held.Load(), memHeld)
		}
		with := readMem()
		heap := (int64(with.HeapAlloc) - int64(before.HeapAlloc)) / memHeld
		stack := (int64(with.StackInuse) - int64(before.StackInuse)) / memHeld
		res.PerEventHeap[size], res.PerEventStack[size], res.PerEvent[size] = heap, stack, heap+stack
		for range memHeld {
			release <- struct{}{}
		}
		for w.Stats().InFlight > 0 {
			time.Sleep(time.Millisecond)
		}
		held.Store(0)
		if !in.Scan() {
			return io.ErrUnexpectedEOF
		}
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
	return nil
}

// measureMemory starts the child and emits the events it holds.
func measureMemory(e *env, sizes []int) (memResult, error) {
	var res memResult
	exe, err := os.Executable()
	if err != nil {
		return res, err
	}
	var list []string
	for _, s := range sizes {
		list = append(list, strconv.Itoa(s))
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), memChildEnv+"="+e.url, memChildSizesEnv+"="+strings.Join(list, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return res, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	pub, err := e.worker("mem-pub", "mem", false)
	if err != nil {
		return res, err
	}
	defer closeWorker(pub)
	ctx := context.Background()
	out := bufio.NewScanner(stdout)
	for out.Scan() {
		line := out.Text()
		switch {
		case strings.HasPrefix(line, "READY "):
			size, _ := strconv.Atoi(strings.TrimPrefix(line, "READY "))
			data := json.RawMessage(payload(size))
			for range memHeld {
				if err := pub.Emit(ctx, "mem:hold", data); err != nil {
					return res, err
				}
			}
			if _, err := io.WriteString(stdin, "next\n"); err != nil {
				return res, err
			}
		case strings.HasPrefix(line, "RESULT "):
			err := json.Unmarshal([]byte(strings.TrimPrefix(line, "RESULT ")), &res)
			return res, err
		}
	}
	return res, fmt.Errorf("memory child ended without a result: %v", out.Err())
}
