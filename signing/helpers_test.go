package signing_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// errorLog collects what a worker reports through Config.OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// handlerError returns the first reported handler error of the event with
// id, or nil.
func (l *errorLog) handlerError(id string) *mesh.HandlerError {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, err := range l.errs {
		var he *mesh.HandlerError
		if errors.As(err, &he) && he.ID == id {
			return he
		}
	}
	return nil
}

// deadLetter waits for the dead letter of the event with id written by
// service, and returns it.
func deadLetter(t testing.TB, w *mesh.Worker, service, id string) deadletter.DeadLetter {
	t.Helper()
	q := deadletter.New(w.JetStream(), w.Namespace())
	var found deadletter.DeadLetter
	testutil.WaitUntil(t, "the dead letter of "+id, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		letters, err := q.List(ctx, service, 1, 0)
		if err != nil {
			t.Fatalf("list dead letters: %v", err)
		}
		for _, dl := range letters {
			if dl.Event != nil && dl.Event.ID == id {
				found = dl
				return true
			}
		}
		return false
	})
	return found
}

// has reports whether events hold one with id.
func has(events []*mesh.Event, id string) bool {
	for _, ev := range events {
		if ev.ID == id {
			return true
		}
	}
	return false
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return ctx
}
