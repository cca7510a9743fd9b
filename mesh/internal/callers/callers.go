// Package callers knows which goroutines run a worker's handler calls. A
// handler may call Close, or Off on its own durable handler: both wait for
// running calls, and must not wait for the call they are made from. Go
// gives no handle on the calling goroutine, so the goroutines that run
// handler calls register themselves, by goroutine id, when they start (once
// per goroutine, not per call: they are reused), and Close and Off look
// the caller up.
package callers

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
)

// Registry holds the goroutines that run handler calls. The zero value is
// ready to use.
type Registry struct {
	m sync.Map // goroutine id -> *caller
}

type caller struct {
	owner   any    // whose calls the goroutine runs
	release func() // gives back what Close or Off waits on for it
}

// Enter registers the calling goroutine as one that runs owner's calls,
// with the func that releases it (see sched.Config.Enter), and returns the
// func that unregisters it.
func (r *Registry) Enter(owner any, release func()) (leave func()) {
	id := goid()
	r.m.Store(id, &caller{owner: owner, release: release})
	return func() { r.m.Delete(id) }
}

// Release, called by Close or Off, releases the calling goroutine if it
// runs owner's calls (any owner's when owner is nil), so that they do not
// wait for the call they are made from. Any code running on such a
// goroutine is inside a call: the handler's.
func (r *Registry) Release(owner any) {
	if v, ok := r.m.Load(goid()); ok {
		if c := v.(*caller); owner == nil || owner == c.owner {
			c.release()
		}
	}
}

// goid returns the id of the calling goroutine, read from the first line
// of its stack trace ("goroutine 123 [running]:"), the only place Go shows
// it. It costs about a microsecond; it is called when a handler goroutine
// starts and in Close and Off, never per event.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
