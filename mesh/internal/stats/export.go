package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Exports are the stats that code beside a worker adds to its stats
// reply, by name: at most max names, each encoded in at most maxBytes.
// Every method is safe for concurrent use.
type Exports struct {
	mu sync.Mutex
	by map[string]*export
}

// export is one registration; removal compares it, so that a replaced
// registration's removal leaves its successor. running is set while a call
// of f runs.
type export struct {
	f       func() any
	running atomic.Bool
}

// Add exports what f returns as name, replacing an export of the same
// name, and returns the function that removes it. It fails when max other
// names are exported.
func (e *Exports) Add(name string, f func() any, max int) (remove func(), err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.by[name]; !ok && len(e.by) >= max {
		return nil, fmt.Errorf("%d names exported already", max)
	}
	if e.by == nil {
		e.by = map[string]*export{}
	}
	x := &export{f: f}
	e.by[name] = x
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.by[name] == x {
			delete(e.by, name)
		}
	}, nil
}

// Extra are the exported stats of one reply, encoded, and the names left
// out.
type Extra struct {
	Stats   map[string]json.RawMessage
	Dropped []string
}

// Collect calls every exporter and encodes what it returns. An encoding
// over maxBytes, an encoding error, a panic, an exporter that ends its
// goroutine (runtime.Goexit), one that takes longer than wait, and one
// still running from an earlier Collect leave the name out, in Dropped.
// Each exporter runs on a goroutine of its own, all at once, so that none
// can end or stall the caller's.
func (e *Exports) Collect(maxBytes int, wait time.Duration) Extra {
	e.mu.Lock()
	by := maps.Clone(e.by)
	e.mu.Unlock()
	names := slices.Sorted(maps.Keys(by))
	results := make([]chan []byte, len(names))
	for i, name := range names {
		results[i] = by[name].start()
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var x Extra
	for i, name := range names {
		var body []byte
		select {
		case body = <-results[i]:
		case <-ctx.Done(): // late, unless it has just answered
			select {
			case body = <-results[i]:
			default:
			}
		}
		if body == nil || len(body) > maxBytes {
			x.Dropped = append(x.Dropped, name)
			continue
		}
		if x.Stats == nil {
			x.Stats = map[string]json.RawMessage{}
		}
		x.Stats[name] = body
	}
	return x
}

// start calls x.f on a goroutine of its own, unless a call is running
// already, and returns the channel that gets its encoding, or nil if it
// failed (see encode) or ended its goroutine.
func (x *export) start() chan []byte {
	done := make(chan []byte, 1)
	if !x.running.CompareAndSwap(false, true) {
		done <- nil
		return done
	}
	go func() {
		var body []byte
		defer func() {
			x.running.Store(false)
			done <- body // also when f ends the goroutine
		}()
		body, _ = encode(x.f)
	}()
	return done
}

// encode returns f's result as JSON, and false if f panicked or its result
// does not encode.
func encode(f func() any) (body []byte, ok bool) {
	defer func() {
		if recover() != nil {
			body, ok = nil, false
		}
	}()
	body, err := json.Marshal(f())
	return body, err == nil
}

// dropLargest returns x without its largest exported stats, which it notes
// in Dropped.
func (x Extra) dropLargest() Extra {
	largest := ""
	for name, body := range x.Stats {
		if largest == "" || len(body) > len(x.Stats[largest]) || len(body) == len(x.Stats[largest]) && name < largest {
			largest = name
		}
	}
	stats := maps.Clone(x.Stats)
	delete(stats, largest)
	return Extra{Stats: stats, Dropped: append(slices.Clone(x.Dropped), largest)}
}
