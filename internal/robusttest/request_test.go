package robusttest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRemoteErrorCodeAndMessageAreSanitized (case 8): a responder's error
// code outside 400-599 travels as 500, and its message as valid UTF-8.
func TestRemoteErrorCodeAndMessageAreSanitized(t *testing.T) {
	srv := testutil.StartServer(t)
	responder := testutil.Connect(t, srv, "responder", plain)
	caller := testutil.Connect(t, srv, "caller", plain)
	for _, tc := range []struct {
		name    string
		event   string
		code    int
		message string
	}{
		{name: "negative code, invalid UTF-8", event: "fail:negative", code: -5, message: "bad \xff utf8"},
		{name: "code 1000", event: "fail:thousand", code: 1000, message: "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			event := tc.event
			_, err := responder.OnRequest(context.Background(), event, mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
				return nil, mesh.NewRemoteError(tc.code, tc.message)
			}))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = caller.Request(ctx, "responder", event, nil)
			var re *mesh.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, 500, re.Code)
			assert.True(t, utf8.ValidString(re.Message), "message %q", re.Message)
		})
	}
}

// TestConcurrentRequestsSharingOptions (case 11): requests made at once
// with one option slice that has spare capacity each reach the service they
// name (and, under -race, do not race).
func TestConcurrentRequestsSharingOptions(t *testing.T) {
	srv := testutil.StartServer(t)
	for _, name := range []string{"alpha", "beta"} {
		w := testutil.Connect(t, srv, name, plain)
		_, err := w.OnRequest(context.Background(), "who:are", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
			return name, nil
		}))
		require.NoError(t, err)
	}
	caller := testutil.Connect(t, srv, "caller", plain)

	opts := make([]mesh.RequestOption, 1, 8)
	opts[0] = mesh.WithExtension("tenant", "t1")
	const goroutines, each = 8, 40
	errs := make(chan error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				target := []string{"alpha", "beta"}[(g+i)%2]
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				rev, err := caller.Request(ctx, target, "who:are", nil, opts...)
				cancel()
				var answer string
				switch {
				case err != nil:
				case rev.Source != target:
					err = fmt.Errorf("request to %s answered by %s", target, rev.Source)
				default:
					if err = rev.Decode(&answer); err == nil && answer != target {
						err = fmt.Errorf("request to %s answered %q", target, answer)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.Empty(t, all, "%d of %d requests went wrong: %v", len(all), goroutines*each, errors.Join(all...))
}
