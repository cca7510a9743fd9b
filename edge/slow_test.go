package edge_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/testutil"
	sse "github.com/tmaxmax/go-sse"
)

// throttle shrinks the socket buffers of the connections made while it is
// on, on both sides, so that a browser that stops reading blocks the
// server's writes soon; grow lets them go at full speed again (the
// receiver of a window smaller than loopback's segment size waits for the
// sender's probes, hundreds of milliseconds each).
type throttle struct {
	on    atomic.Bool
	mu    sync.Mutex
	conns []*net.TCPConn
}

func (th *throttle) shrink(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok || !th.on.Load() {
		return
	}
	_ = tc.SetWriteBuffer(4096)
	_ = tc.SetReadBuffer(4096)
	th.mu.Lock()
	th.conns = append(th.conns, tc)
	th.mu.Unlock()
}

func (th *throttle) grow() {
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, tc := range th.conns {
		_ = tc.SetWriteBuffer(1 << 20)
		_ = tc.SetReadBuffer(1 << 20)
	}
}

// listener shrinks the server's side of the connections.
func (th *throttle) listener(l net.Listener) net.Listener { return throttledListener{l, th} }

type throttledListener struct {
	net.Listener
	th *throttle
}

func (l throttledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	l.th.shrink(c)
	return c, err
}

// client shrinks the browser's side of the connections.
func (th *throttle) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			th.shrink(c)
			return c, err
		},
	}}
}

// A browser that stops reading is dropped as slow, while another receives
// every event; once it reads again it learns why it was dropped.
func TestSlowClient(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			hs := httptest.NewUnstartedServer(nil)
			th := new(throttle)
			hs.Listener = th.listener(hs.Listener)
			f := setup(t, m.stream, edge.Config{Events: []string{"post:created"}, BufferSize: 64, WriteTimeout: testutil.DefaultWait}, hs)
			fast := open(t, f.url, "")
			th.on.Store(true)
			slow, cancel := get(t, th.client(), f.url, "")
			defer cancel()
			defer slow.Body.Close()

			// In rounds that the fast browser reads before the next, so
			// that it never falls BufferSize behind however loaded the
			// machine, while the slow one reads nothing.
			const events, round = 400, 32
			pad := strings.Repeat("x", 512)
			for i := range events {
				if err := f.w.Emit(t.Context(), "post:created", payload{N: i, User: pad}); err != nil {
					t.Fatal(err)
				}
				if i%round < round-1 && i < events-1 {
					continue
				}
				for j := i - i%round; j <= i; j++ {
					if n := parse(t, fast.next(t)).Data.N; n != j {
						t.Fatalf("fast browser got n=%d, want %d", n, j)
					}
				}
			}
			testutil.WaitUntil(t, "slow browser dropped", func() bool { return f.h.Stats().Dropped[edge.ReasonSlow] == 1 })
			th.grow()

			last := -1
			for ev, err := range sse.Read(slow.Body, &sse.ReadConfig{MaxEventSize: 1 << 20}) {
				if err != nil {
					t.Fatalf("slow browser's stream: %v", err)
				}
				if ev.Type == edge.DroppedEvent {
					if ev.Data != `{"reason":"slow"}` {
						t.Errorf("dropped with %s", ev.Data)
					}
					break
				}
				if n := parse(t, ev).Data.N; n != last+1 {
					t.Fatalf("slow browser got n=%d after %d", n, last)
				}
				last++
			}
			if last >= events-1 {
				t.Errorf("slow browser got all %d events", events)
			}
			if s := f.h.Stats(); s.Dropped[edge.ReasonSlow] != 1 || s.Sent != uint64(events+last+1) {
				t.Errorf("stats %+v, want 1 dropped and %d sent", s, events+last+1)
			}
		})
	}
}
