package stats

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Exports are the stats that code beside a worker adds to its stats
// reply, by name: at most max names, each encoded in at most maxBytes.
// Every method is safe for concurrent use.
type Exports struct {
	mu sync.Mutex
	by map[string]*export
}

// export is one registration; removal compares it, so that a replaced
// registration's removal leaves its successor.
type export struct{ f func() any }

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
// over maxBytes, an encoding error or a panic leaves the name out, in
// Dropped.
func (e *Exports) Collect(maxBytes int) Extra {
	e.mu.Lock()
	by := maps.Clone(e.by)
	e.mu.Unlock()
	var x Extra
	for _, name := range slices.Sorted(maps.Keys(by)) {
		body, ok := encode(by[name].f)
		if !ok || len(body) > maxBytes {
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
