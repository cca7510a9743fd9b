package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
)

// The memory measurement runs in a child process (child.go), so that
// neither the embedded server nor the other contenders share its heap: the
// child reads its heap after a GC, connects one worker with 20 handlers to
// the parent's server, and reads it again. Then the parent emits memHeld
// events to one of those handlers, which holds them; the child reads its
// heap and stacks with them in flight.

const (
	memHandlers = 20
	memHeld     = 200 // under mesh.DefaultMaxConcurrent
)

// memResult is what the memory measurement found.
type memResult struct {
	Idle          memIdle
	PerEvent      map[int]int64 // payload size -> heap+stack bytes per held event
	PerEventHeap  map[int]int64 // heap part
	PerEventStack map[int]int64 // stack part
}

// memIdle is what an idle worker with memHandlers handlers adds to its
// process.
type memIdle struct {
	Heap       int64 `json:"heap"`
	Stack      int64 `json:"stack"`
	Goroutines int   `json:"goroutines"`
}

// memPerEvent is the heap and stack one held event costs.
type memPerEvent struct {
	Heap  int64 `json:"heap"`
	Stack int64 `json:"stack"`
}

func readMem() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// memState is the memory child. It answers "idle" (connect the worker,
// memIdle), "arm" (read the heap before the parent emits) and "held" (wait
// until memHeld events are held, memPerEvent, then let them go).
type memState struct {
	url           string
	w             *mesh.Worker
	held          atomic.Int64
	release, full chan struct{}
	before        runtime.MemStats
}

func memChild(url string) (func(verb, arg string) (any, error), func()) {
	m := &memState{url: url, release: make(chan struct{}), full: make(chan struct{}, 1)}
	return m.serve, func() {
		if m.w != nil {
			closeWorker(m.w)
		}
	}
}

func (m *memState) serve(verb, _ string) (any, error) {
	switch verb {
	case "idle":
		return m.idle()
	case "arm":
		m.before = readMem()
		return nil, nil
	case "held":
		return m.measureHeld()
	}
	return nil, fmt.Errorf("unknown request %q", verb)
}

func (m *memState) idle() (memIdle, error) {
	base := readMem()
	baseG := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	m.w, err = mesh.Connect(ctx, mesh.Config{Service: "mem-idle", Namespace: "mem", Servers: []string{m.url}})
	if err != nil {
		return memIdle{}, err
	}
	for i := range memHandlers - 1 {
		if _, err := m.w.On(ctx, fmt.Sprintf("mem:event%d", i), mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return nil })); err != nil {
			return memIdle{}, err
		}
	}
	_, err = m.w.On(ctx, "mem:hold", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		if m.held.Add(1) == memHeld {
			m.full <- struct{}{}
		}
		<-m.release
		return nil
	}))
	if err != nil {
		return memIdle{}, err
	}
	idle := readMem()
	return memIdle{Heap: int64(idle.HeapAlloc) - int64(base.HeapAlloc), Stack: int64(idle.StackInuse) - int64(base.StackInuse),
		Goroutines: runtime.NumGoroutine() - baseG}, nil
}

func (m *memState) measureHeld() (memPerEvent, error) {
	select {
	case <-m.full:
	case <-time.After(30 * time.Second):
		return memPerEvent{}, fmt.Errorf("%d of %d events held after 30s", m.held.Load(), memHeld)
	}
	with := readMem()
	res := memPerEvent{Heap: (int64(with.HeapAlloc) - int64(m.before.HeapAlloc)) / memHeld,
		Stack: (int64(with.StackInuse) - int64(m.before.StackInuse)) / memHeld}
	for range memHeld {
		m.release <- struct{}{}
	}
	deadline := time.Now().Add(30 * time.Second)
	for m.w.Stats().InFlight > 0 {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d events still in flight 30s after their release", m.w.Stats().InFlight)
		}
		time.Sleep(time.Millisecond)
	}
	m.held.Store(0)
	return res, nil
}

// measureMemory starts the child and emits the events it holds.
func measureMemory(e *env, sizes []int) (res memResult, err error) {
	c, err := startChild(roleMemory, e.url)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, c.stop()) }()
	if err := c.ask(&res.Idle, "idle"); err != nil {
		return res, err
	}
	pub, err := e.worker("mem-pub", "mem", false)
	if err != nil {
		return res, err
	}
	defer closeWorker(pub)
	res.PerEvent, res.PerEventHeap, res.PerEventStack = map[int]int64{}, map[int]int64{}, map[int]int64{}
	ctx := context.Background()
	for _, size := range sizes {
		if err := c.ask(nil, "arm"); err != nil {
			return res, err
		}
		data := json.RawMessage(payload(size))
		for range memHeld {
			if err := pub.Emit(ctx, "mem:hold", data); err != nil {
				return res, err
			}
		}
		var per memPerEvent
		if err := c.ask(&per, "held"); err != nil {
			return res, err
		}
		res.PerEventHeap[size], res.PerEventStack[size], res.PerEvent[size] = per.Heap, per.Stack, per.Heap+per.Stack
	}
	return res, nil
}
