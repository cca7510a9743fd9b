package faulttest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// proxy is a loopback TCP proxy that can cut every connection, refuse new
// ones, and delay traffic.
type proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	down  bool
	delay time.Duration
	conns map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l, target: target, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		p.cut()
	})
	return p
}

func (p *proxy) url() string { return "nats://" + p.l.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c, s)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *proxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		p.conns[c] = true
	}
}

// pipe copies from src to dst, delaying each chunk by the current delay.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d) // simulated network latency
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every connection and refuses new ones until heal.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *proxy) setDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// TestNetworkTrouble runs a worker through a proxy that cuts its connection
// in the middle of the emits, refuses it for a while, then delays traffic:
// the worker reconnects by itself, emits made during the outage are stored
// after it or fail with an error, and the durable handler resumes.
func TestNetworkTrouble(t *testing.T) {
	n := scaled(900)
	srv := testutil.StartServer(t)
	p := startProxy(t, srv.NATS.Addr().String())
	disconnected := make(chan struct{}, 16)
	reconnected := make(chan struct{}, 16)
	w := connect(t, "exprsn-spark", mesh.Config{
		Servers:          []string{p.url()},
		Stream:           mesh.StreamConfig{Manage: true},
		AsyncEmitTimeout: 5 * time.Second,
		OnDisconnect:     func(error) { disconnected <- struct{}{} },
		OnReconnect:      func(string) { reconnected <- struct{}{} },
	})
	l := newLedger()
	_, err := w.OnDurable(context.Background(), "fault:event", l.handler(), mesh.Concurrency(4), mesh.AckWait(2*time.Second))
	require.NoError(t, err)

	wait := func(ch chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(time.Minute):
			t.Fatalf("the worker did not %s", what)
		}
	}
	l.emit(t, w, n, func(i int) {
		switch i {
		case n / 3:
			p.cut()
			wait(disconnected, "notice the cut")
		case n / 2:
			p.heal()
			wait(reconnected, "reconnect")
		case 2 * n / 3:
			p.setDelay(2 * time.Millisecond)
		}
	})
	l.waitHandled(t, "network trouble", n)
}
