package edge_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// The full run is 1,000 clients and bursts of 10,000 events:
//
//	go test -run '^$' -bench . -benchtime 1x ./edge -edge.clients 1000 -edge.events 10000
var (
	benchClients = flag.Int("edge.clients", 100, "SSE clients of the benchmarks (full run: 1000)")
	benchEvents  = flag.Int("edge.events", 1000, "events per burst of BenchmarkFanOut (full run: 10000)")
)

// BenchmarkFanOut: every client receives every event of a burst, one burst
// per iteration. It reports deliveries (events times clients) per second
// and the median and 99th percentile of the time from Emit to a client's
// read, which in a burst emitted at once is mostly the time the burst
// takes to drain. The buffers hold a whole burst, so that it measures the
// fan-out, not the drop policy.
func BenchmarkFanOut(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			clients, events := *benchClients, *benchEvents
			f := setup(b, m.stream, edge.Config{
				Events:      []string{"bench:tick"},
				BufferSize:  events,
				BufferBytes: 1 << 30,
			}, nil)
			sampleEvery := max(1, events/100)
			reached := make(chan []time.Duration, clients)
			for range clients {
				go readBursts(b, dialSSE(b, f.url), events, sampleEvery, reached)
			}
			testutil.WaitUntil(b, "clients connected", func() bool { return f.h.Stats().Connections == int64(clients) })
			var lat []time.Duration
			b.ResetTimer()
			for b.Loop() {
				burst(b, f.w, m.stream, events)
				for range clients {
					lat = append(lat, <-reached...)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			perSec := float64(b.N*events*clients) / b.Elapsed().Seconds()
			b.ReportMetric(perSec, "deliveries/s")
			b.ReportMetric(perSec/float64(clients), "events/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			if d := f.h.Stats().Dropped[edge.ReasonSlow]; d != 0 {
				b.Fatalf("%d clients dropped as slow", d)
			}
		})
	}
}

// BenchmarkConnectionMemory reports the memory that an idle stream costs,
// with the default Config: the heap and stacks of the process (the server's
// side and a minimal client's: a goroutine, a 512-byte buffer) divided by
// the number of streams.
func BenchmarkConnectionMemory(b *testing.B) {
	f := setup(b, true, edge.Config{Events: []string{"bench:tick"}}, nil)
	for b.Loop() {
		before := inUse()
		conns := make([]net.Conn, *benchClients)
		for i := range conns {
			conns[i] = dialSSE(b, f.url)
			go discard(conns[i])
		}
		testutil.WaitUntil(b, "clients connected", func() bool { return f.h.Stats().Connections == int64(len(conns)) })
		b.ReportMetric(float64(inUse()-before)/float64(len(conns)), "B/stream")
		for _, c := range conns {
			_ = c.Close()
		}
		testutil.WaitUntil(b, "clients gone", func() bool { return f.h.Stats().Connections == 0 })
	}
}

func inUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

func discard(c net.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

type tick struct {
	N int   `json:"n"`
	T int64 `json:"t"` // when it was emitted, in Unix nanoseconds
}

// burst emits n events, stored asynchronously with a stream.
func burst(b *testing.B, w *mesh.Worker, stream bool, n int) {
	for i := range n {
		ev := tick{N: i, T: time.Now().UnixNano()}
		var err error
		if stream {
			_, err = w.EmitAsync(b.Context(), "bench:tick", ev)
		} else {
			err = w.Emit(b.Context(), "bench:tick", ev)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// dialSSE opens a stream with a bare connection and an HTTP/1.0 request,
// whose answer's body is the stream itself, not in chunks.
func dialSSE(b *testing.B, rawURL string) net.Conn {
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.Host); err != nil {
		b.Fatal(err)
	}
	return c
}

// readBursts reads a stream and, after every n events, sends the latencies
// of every sampleEvery-th one of them.
func readBursts(b *testing.B, c net.Conn, n, sampleEvery int, reached chan<- []time.Duration) {
	r := bufio.NewReader(c)
	var lat []time.Duration
	for count := 0; ; {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		if count%sampleEvery == 0 {
			lat = append(lat, time.Duration(time.Now().UnixNano()-emitted(b, line)))
		}
		if count++; count%n == 0 {
			reached <- lat
			lat = nil
		}
	}
}

// emitted reads the "t" of a tick from a CloudEvent's data line.
func emitted(b *testing.B, line []byte) int64 {
	i := bytes.LastIndex(line, []byte(`"t":`))
	j := bytes.IndexByte(line[i:], '}')
	t, err := strconv.ParseInt(string(line[i+4:i+j]), 10, 64)
	if err != nil {
		b.Error(err)
	}
	return t
}
