package mesh

import (
	"bytes"
	"runtime"
	"strconv"
)

// A handler may call Close, or Off on its own durable handler: both wait
// for running handler calls, and must not wait for the call they are made
// from. Go gives no handle on the calling goroutine, so the goroutines that
// run handler calls register themselves, by goroutine id, when they start
// (once per goroutine, not per call: they are reused), and Close and Off
// look the caller up.

// caller is a goroutine that runs handler calls.
type caller struct {
	// owner is the *binding or *durableHandler whose calls it runs.
	owner any
	// release gives back what Close or Off waits on for this goroutine
	// (see sched.Config.Enter).
	release func()
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

// enter registers the calling goroutine as one that runs owner's calls,
// and returns the func that unregisters it.
func (w *Worker) enter(owner any, release func()) (leave func()) {
	id := goid()
	w.callers.Store(id, &caller{owner: owner, release: release})
	return func() { w.callers.Delete(id) }
}

// releaseCaller, called by Close or Off, gives back what the calling
// goroutine holds if it runs owner's calls (any handler's when owner is
// nil), so that Close or Off does not wait for the call it is made from.
// Any code running on such a goroutine is inside a call: the handler's.
func (w *Worker) releaseCaller(owner any) {
	if v, ok := w.callers.Load(goid()); ok {
		if c := v.(*caller); owner == nil || owner == c.owner {
			c.release()
		}
	}
}
