package interop_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// ctx is a context for one step of a test, ended after testutil.DefaultWait.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return c
}

// byID returns the event of evs with id, or nil.
func byID(evs []*mesh.Event, id string) *mesh.Event {
	for _, e := range evs {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// heraldWorker connects a worker for herald that manages the namespace's
// streams and passes each message it refuses as not a valid CloudEvent
// (the codec's error) to the returned channel. Its logs are discarded.
func heraldWorker(t *testing.T, srv *testutil.Server) (*mesh.Worker, <-chan *codec.Error) {
	t.Helper()
	refused := make(chan *codec.Error, 16)
	w := testutil.Connect(t, srv, herald, mesh.Config{
		Stream: mesh.StreamConfig{Manage: true},
		Logger: slog.New(slog.DiscardHandler),
		OnError: func(err error) {
			var ce *codec.Error
			if errors.Is(err, mesh.ErrInvalidMessage) && errors.As(err, &ce) {
				select { // OnError must not block
				case refused <- ce:
				default:
				}
			}
		},
	})
	return w, refused
}

// waitRefused returns the next refusal, failing the test after
// testutil.DefaultWait.
func waitRefused(t *testing.T, refused <-chan *codec.Error) *codec.Error {
	t.Helper()
	select {
	case ce := <-refused:
		return ce
	case <-time.After(testutil.DefaultWait):
		t.Fatal("the worker refused no message")
		return nil
	}
}
