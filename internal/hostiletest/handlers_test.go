package hostiletest

// Handlers that misbehave, and what a sender's text does to the reports
// about them: each test checks that one bad call never hurts another (the
// good event is handled, the worker stays connected, no durable event is
// held forever) and that what the worker reports is bounded.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nuid"
	"github.com/stretchr/testify/require"
)

// maxReportLen bounds what a report built from hostile input may be: the
// docs promise at most 256 bytes of any sender's field, so a few KiB is
// generous.
const maxReportLen = 8 << 10

// attacker is a worker with a handler of the test's own, and what it
// reports.
type attacker struct {
	w    *mesh.Worker
	sink *sink
	dls  atomic.Int32
}

func (e *env) worker(t *testing.T, service string) *attacker {
	t.Helper()
	a := &attacker{sink: &sink{}}
	a.w = testutil.Connect(t, e.srv, service, mesh.Config{
		Logger:       quiet,
		OnError:      a.sink.add,
		OnDisconnect: func(error) { a.sink.disconnects.Add(1) },
		OnDeadLetter: func(*mesh.Event, string) { a.dls.Add(1) },
	})
	return a
}

func (a *attacker) up(t *testing.T) {
	t.Helper()
	require.NoError(t, a.w.Healthy(), "worker not healthy; reported: %s", a.sink.describe())
	require.Zero(t, a.sink.disconnects.Load(), "worker disconnected; reported: %s", a.sink.describe())
}

// bounded fails the test if any report is longer than maxReportLen.
func (a *attacker) bounded(t *testing.T) {
	t.Helper()
	a.sink.mu.Lock()
	defer a.sink.mu.Unlock()
	for _, err := range a.sink.errs {
		if n := len(err.Error()); n > maxReportLen {
			t.Errorf("a report of %d bytes (want at most %d) built from hostile input: %s", n, maxReportLen, truncated(err.Error()))
		}
	}
}

func durableOpts(name string) []mesh.DurableOption {
	return []mesh.DurableOption{mesh.MaxDeliver(maxDeliver), mesh.Backoff(50 * time.Millisecond), mesh.AckWait(time.Second), mesh.DurableName(name)}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// consumerIdle waits until the named consumer has nothing pending or
// unacknowledged.
func (e *env) consumerIdle(t *testing.T, name string, a *attacker) {
	t.Helper()
	eventually(t, "consumer "+name+" with NumPending 0 and NumAckPending 0", func() (bool, string) {
		c, err := e.js.Consumer(context.Background(), eventStream(), name)
		if err != nil {
			return false, err.Error()
		}
		info, err := c.Info(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return info.NumPending == 0 && info.NumAckPending == 0, describeConsumer(info) + "; reported: " + a.sink.describe()
	})
}

func structured(id, typ, extra string) []byte {
	return []byte(`{"specversion":"1.0","id":` + string(jsonString(id)) + `,"source":"attacker","type":` + string(jsonString(typ)) + extra + `}`)
}

type small struct {
	N int8 `json:"n"`
}

// TestTypedHandlerErrorsQuoteBoundedText: Typed handlers fail an
// event whose data does not decode; the error they report must not carry
// the sender's id, type, content type or data whole.
func TestTypedHandlerErrorsQuoteBoundedText(t *testing.T) {
	e := newEnv(t)
	huge := fill(500 << 10)
	cases := []struct {
		name string
		body []byte
	}{
		{"id of 500 KiB, no data", structured(huge, "attack:typed", "")},
		{"type of 500 KiB, no data", structured("t-2", huge, "")},
		{"datacontenttype of 500 KiB", structured("t-3", "attack:typed", `,"datacontenttype":"text/`+huge+`","data":"x"`)},
		{"number of 500 KiB for an int8", structured("t-4", "attack:typed", `,"data":{"n":`+digits(500<<10)+`}`)},
	}
	for _, p := range []path{pathLive, pathDurable} {
		t.Run(p.String(), func(t *testing.T) {
			a := e.worker(t, "attack-typed-"+p.String())
			rec := testutil.NewRecorder()
			typed := mesh.Typed(func(ctx context.Context, ev *mesh.Event, v small) error { return rec.HandleEvent(ctx, ev) })
			var err error
			if p == pathLive {
				_, err = a.w.On(ctxT(t), "attack:>", typed)
			} else {
				_, err = a.w.OnDurable(ctxT(t), "attack:>", typed, durableOpts("attack-typed")...)
			}
			require.NoError(t, err)
			raw := dialRaw(t, e.srv.URL())
			for _, c := range cases {
				subj := ns + ".attack-typed-" + p.String() + ".attack.typed"
				if p == pathLive {
					require.NoError(t, raw.publish(subj, "", nil, c.body), c.name)
					require.NoError(t, raw.flush())
				} else {
					_, err := e.store(raw, subj, input{Body: c.body, Raw: true})
					require.NoError(t, err, c.name)
				}
			}
			eventually(t, "a failure reported for each hostile event", func() (bool, string) {
				a.sink.mu.Lock()
				n := len(a.sink.errs)
				a.sink.mu.Unlock()
				return n >= len(cases), a.sink.describe()
			})
			good := "good-" + nuid.Next()
			require.NoError(t, e.client.Emit(ctxT(t), "attack:typed", map[string]int{"n": 1}, mesh.To("attack-typed-"+p.String()), mesh.WithID(good)))
			eventually(t, "the good event handled", func() (bool, string) {
				for _, ev := range rec.Events() {
					if ev.ID == good {
						return true, ""
					}
				}
				return false, a.sink.describe()
			})
			a.up(t)
			a.bounded(t)
			if p == pathDurable {
				e.consumerIdle(t, "attack-typed", a)
			}
		})
	}
}

// ---------------------------------------------------------------------
// Handlers that misbehave.

// TestHandlerEndingItsGoroutineFails: handlers that end their goroutine
// with runtime.Goexit (as t.FailNow does) for one event, on each path. The
// scheduler replaces the goroutine; the call counts as failed and is
// reported, a durable event is settled (retried, then dead-lettered), not
// held in progress forever, a request is answered with 500, and the good
// event after it is handled.
func TestHandlerEndingItsGoroutineFails(t *testing.T) {
	e := newEnv(t)
	for _, kind := range []string{"live", "request", "durable", "batch"} {
		t.Run(kind, func(t *testing.T) {
			service := "attack-goexit-" + kind
			a := e.worker(t, service)
			rec := testutil.NewRecorder()
			h := func(ctx context.Context, ev *mesh.Event) error {
				if ev.Type == "attack:goexit" {
					runtime.Goexit()
				}
				return rec.HandleEvent(ctx, ev)
			}
			ctx := ctxT(t)
			var err error
			switch kind {
			case "live":
				_, err = a.w.On(ctx, "attack:>", mesh.HandlerFunc(h))
			case "request":
				_, err = a.w.OnRequest(ctx, "attack:>", mesh.ResponderFunc(func(ctx context.Context, ev *mesh.Event) (any, error) {
					return "ok", h(ctx, ev)
				}))
			case "durable":
				_, err = a.w.OnDurable(ctx, "attack:>", mesh.HandlerFunc(h), durableOpts(service)...)
			case "batch":
				_, err = a.w.OnDurableBatch(ctx, "attack:>", mesh.BatchHandlerFunc(func(ctx context.Context, evs []*mesh.Event) error {
					for _, ev := range evs {
						if err := h(ctx, ev); err != nil {
							return err
						}
					}
					return nil
				}), mesh.Batch(1, time.Millisecond), mesh.MaxDeliver(maxDeliver), mesh.Backoff(50*time.Millisecond), mesh.DurableName(service))
			}
			require.NoError(t, err)
			if kind == "request" {
				_, err := e.client.Request(ctx, service, "attack:goexit", "x")
				var re *mesh.RemoteError
				require.ErrorAs(t, err, &re, "the request whose responder ended its goroutine")
				require.Equal(t, 500, re.Code)
				_, err = e.client.Request(ctx, service, "attack:good", "x")
				require.NoError(t, err)
			} else {
				require.NoError(t, e.client.Emit(ctx, "attack:goexit", "x", mesh.To(service)))
				require.NoError(t, e.client.Emit(ctx, "attack:good", "x", mesh.To(service)))
			}
			rec.WaitN(t, 1, 0)
			eventually(t, "the call reported as a failed *mesh.HandlerError", func() (bool, string) {
				return a.sink.find(func(err error) bool {
					var he *mesh.HandlerError
					return errors.As(err, &he) && he.Event == "attack:goexit"
				}) != nil && a.w.Stats().Failed > 0, a.sink.describe()
			})
			if kind == "durable" || kind == "batch" {
				e.consumerIdle(t, service, a)
			}
			a.up(t)
		})
	}
}

// TestHandlerIgnoringItsTimeoutIsReported: a durable handler with a
// Timeout that ignores its context for one event. Go cannot stop the
// call: it keeps its event and its slot until it returns, and is reported
// once it runs its Timeout again past it (at least 1 s); the handler's
// other slot goes on with other events, and once the call returns its
// event is settled.
func TestHandlerIgnoringItsTimeoutIsReported(t *testing.T) {
	e := newEnv(t)
	a := e.worker(t, "attack-stuck")
	rec := testutil.NewRecorder()
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	opts := append(durableOpts("attack-stuck"), mesh.Timeout(200*time.Millisecond), mesh.Concurrency(2))
	_, err := a.w.OnDurable(ctxT(t), "attack:>", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if ev.Type == "attack:stuck" {
			<-release // ignores ctx
			return nil
		}
		return rec.HandleEvent(ctx, ev)
	}), opts...)
	require.NoError(t, err)
	ctx := ctxT(t)
	require.NoError(t, e.client.Emit(ctx, "attack:stuck", "x", mesh.To("attack-stuck")))
	require.NoError(t, e.client.Emit(ctx, "attack:good", "x", mesh.To("attack-stuck")))
	rec.WaitN(t, 1, 0)
	eventually(t, "the call running past its Timeout reported as a *mesh.HandlerError", func() (bool, string) {
		return a.sink.find(func(err error) bool {
			var he *mesh.HandlerError
			return errors.As(err, &he) && he.Event == "attack:stuck" && strings.Contains(he.Err.Error(), "still running after its Timeout")
		}) != nil, a.sink.describe()
	})
	unblock()
	e.consumerIdle(t, "attack-stuck", a)
	a.up(t)
}

type panicky struct{}

func (panicky) Error() string  { panic("Error method panics") }
func (panicky) String() string { panic("String method panics") }

type hugeErr struct{}

func (hugeErr) Error() string {
	return "huge\r\nX-Injected: yes\x00\xff\xfe" + strings.Repeat("e", 4<<20)
}

// TestDurableHandlerOddFailuresAreSettled: panics with odd values (nil, a huge
// string, a value whose Error and String methods panic, an error value),
// panics inside middleware, errors of 4 MiB with CR LF, NUL and invalid
// UTF-8, Permanent(nil), Permanent of a wrapped nil, an error whose Error
// panics. Every event must be settled, the worker must stay up, and the
// good event must be handled.
func TestDurableHandlerOddFailuresAreSettled(t *testing.T) {
	e := newEnv(t)
	a := e.worker(t, "attack-odd")
	rec := testutil.NewRecorder()
	behaviours := map[string]func() error{
		"panic-nil":      func() error { panic(nil) },
		"panic-huge":     func() error { panic(strings.Repeat("p", 4<<20)) },
		"panic-panicky":  func() error { panic(panicky{}) },
		"panic-error":    func() error { panic(errors.New("an error value")) },
		"huge-error":     func() error { return hugeErr{} },
		"permanent-huge": func() error { return mesh.Permanent(hugeErr{}) },
		"permanent-nil":  func() error { return mesh.Permanent(nil) },
		"wrapped-nil":    func() error { return fmt.Errorf("wrapped: %w", nil) },
	}
	mw := func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			if ev.Type == "attack:mwpanic" {
				panic("middleware panic")
			}
			return next.HandleEvent(ctx, ev)
		})
	}
	opts := append(durableOpts("attack-odd"), mesh.Use(mw))
	_, err := a.w.OnDurable(ctxT(t), "attack:>", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		var data string
		_ = ev.Decode(&data)
		if f, ok := behaviours[data]; ok {
			return f()
		}
		return rec.HandleEvent(ctx, ev)
	}), opts...)
	require.NoError(t, err)
	ctx := ctxT(t)
	for name := range behaviours {
		require.NoError(t, e.client.Emit(ctx, "attack:odd", name, mesh.To("attack-odd")), name)
	}
	require.NoError(t, e.client.Emit(ctx, "attack:mwpanic", "x", mesh.To("attack-odd")))
	require.NoError(t, e.client.Emit(ctx, "attack:good", "good", mesh.To("attack-odd")))
	rec.WaitN(t, 1, 0)
	e.consumerIdle(t, "attack-odd", a)
	a.up(t)
	st := a.w.Stats().Durable["attack-odd"]
	t.Logf("durable stats: %+v; dead letters seen: %d", st, a.dls.Load())
	// Dead letters' reasons are bounded and clean.
	letters, err := listDeadLetters(ctx, e.js, "attack-odd")
	require.NoError(t, err)
	s, err := e.js.Stream(ctx, deadLetterStream())
	require.NoError(t, err)
	for _, l := range letters {
		m, err := s.GetMsg(ctx, l.Sequence)
		require.NoError(t, err)
		reason := m.Header.Get("Mesh-Dlq-Reason")
		if len(reason) > 1024 || strings.ContainsAny(reason, "\r\n") {
			t.Errorf("dead letter reason of %d bytes: %q", len(reason), truncated(reason))
		}
		if m.Header.Get("X-Injected") != "" {
			t.Errorf("an error message injected a header into the dead letter")
		}
	}
}

// TestErrorWhoseErrorMethodPanics: a handler returning an error whose Error
// method panics: the common typed-nil mistake (a nil *T returned as error,
// here a nil *mesh.RemoteError), or a value whose Error panics. Each case
// runs in a child process, since a panic outside the mesh's recover ends
// the process; the child must handle a good event after it and exit 0.
func TestErrorWhoseErrorMethodPanics(t *testing.T) {
	if c := os.Getenv("HOSTILETEST_ERROR_CHILD"); c != "" {
		errorMethodPanicsChild(t, c)
		return
	}
	for _, c := range []string{"durable-typed-nil", "durable-permanent-panicky", "live-typed-nil", "request-typed-nil", "batch-typed-nil"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestErrorWhoseErrorMethodPanics$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "HOSTILETEST_ERROR_CHILD="+c)
			out, err := cmd.CombinedOutput()
			if err != nil {
				o := string(out)
				if i := strings.Index(o, "panic:"); i >= 0 {
					o = o[i:]
				}
				if len(o) > 1500 {
					o = o[:1500]
				}
				t.Errorf("the process running the worker ended with %v:\n%s", err, o)
			}
		})
	}
}

func errorMethodPanicsChild(t *testing.T, c string) {
	e := newEnv(t)
	service := "attack-" + strings.SplitN(c, "-", 2)[0]
	a := e.worker(t, service)
	rec := testutil.NewRecorder()
	bad := func(ev *mesh.Event) error {
		if ev.Type != "attack:bad" {
			return nil
		}
		if c == "durable-permanent-panicky" {
			return mesh.Permanent(panicky{})
		}
		var re *mesh.RemoteError
		return re
	}
	h := mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if err := bad(ev); err != nil {
			return err
		}
		return rec.HandleEvent(ctx, ev)
	})
	ctx := ctxT(t)
	var err error
	switch {
	case strings.HasPrefix(c, "durable"):
		_, err = a.w.OnDurable(ctx, "attack:>", h, durableOpts(service)...)
	case strings.HasPrefix(c, "batch"):
		_, err = a.w.OnDurableBatch(ctx, "attack:>", mesh.BatchHandlerFunc(func(ctx context.Context, evs []*mesh.Event) error {
			for _, ev := range evs {
				if err := bad(ev); err != nil {
					return err
				}
				_ = rec.HandleEvent(ctx, ev)
			}
			return nil
		}), mesh.Batch(1, time.Millisecond), mesh.MaxDeliver(maxDeliver), mesh.Backoff(50*time.Millisecond), mesh.DurableName(service))
	case strings.HasPrefix(c, "live"):
		_, err = a.w.On(ctx, "attack:>", h)
	case strings.HasPrefix(c, "request"):
		_, err = a.w.OnRequest(ctx, "attack:>", mesh.ResponderFunc(func(ctx context.Context, ev *mesh.Event) (any, error) {
			return "ok", h.HandleEvent(ctx, ev)
		}))
	}
	require.NoError(t, err)
	if strings.HasPrefix(c, "request") {
		_, err = e.client.Request(ctx, service, "attack:bad", "x")
		t.Logf("the bad request: %v", err)
		_, err = e.client.Request(ctx, service, "attack:good", "x")
		require.NoError(t, err)
	} else {
		require.NoError(t, e.client.Emit(ctx, "attack:bad", "x", mesh.To(service)))
		require.NoError(t, e.client.Emit(ctx, "attack:good", "x", mesh.To(service)))
	}
	rec.WaitN(t, 1, 0)
	if strings.HasPrefix(c, "durable") || strings.HasPrefix(c, "batch") {
		e.consumerIdle(t, service, a)
	}
	a.up(t)
	t.Logf("reported: %s", a.sink.describe())
}

// TestBatchErrorsWithOddIndexes: batch handlers returning BatchErrors
// with indexes out of range, negative, nil errors, a nil BatchErrors, and
// a panic. Every event must be settled.
func TestBatchErrorsWithOddIndexes(t *testing.T) {
	e := newEnv(t)
	a := e.worker(t, "attack-batch")
	var calls atomic.Int32
	var handled atomic.Int32
	_, err := a.w.OnDurableBatch(ctxT(t), "attack:>", mesh.BatchHandlerFunc(func(ctx context.Context, evs []*mesh.Event) error {
		switch calls.Add(1) % 6 {
		case 1:
			return mesh.BatchErrors{-1: errors.New("neg"), len(evs): errors.New("past"), 1 << 30: mesh.Permanent(errors.New("far"))}
		case 2:
			return mesh.BatchErrors{0: nil, 1: nil}
		case 3:
			var be mesh.BatchErrors
			return be
		case 4:
			panic(mesh.BatchErrors{0: errors.New("in a panic")})
		case 5:
			return fmt.Errorf("wrapped: %w", mesh.BatchErrors{0: mesh.Permanent(nil), -5: nil})
		}
		handled.Add(int32(len(evs)))
		return nil
	}), mesh.Batch(3, 50*time.Millisecond), mesh.MaxDeliver(maxDeliver), mesh.Backoff(50*time.Millisecond), mesh.AckWait(time.Second), mesh.DurableName("attack-batch"))
	require.NoError(t, err)
	ctx := ctxT(t)
	for i := range 30 {
		require.NoError(t, e.client.Emit(ctx, "attack:batch", i, mesh.To("attack-batch")))
	}
	e.consumerIdle(t, "attack-batch", a)
	a.up(t)
	t.Logf("calls %d, events handled in clean calls %d, stats %+v", calls.Load(), handled.Load(), a.w.Stats().Durable["attack-batch"])
}
