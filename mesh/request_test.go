package mesh_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

type profileReq struct {
	UserID string `json:"userId"`
}

type profile struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
}

func TestRequestReply(t *testing.T) {
	srv := testutil.StartServer(t)
	auth1 := testutil.Connect(t, srv, "exprsn-auth")
	auth2 := testutil.Connect(t, srv, "exprsn-auth")
	timeline := testutil.Connect(t, srv, "exprsn-timeline")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	for _, w := range []*mesh.Worker{auth1, auth2} {
		_, err := w.OnRequest(context.Background(), "profile:get", mesh.TypedResponder(func(ctx context.Context, ev *mesh.Event, req profileReq) (profile, error) {
			if req.UserID == "missing" {
				return profile{}, mesh.NewRemoteError(404, "no user "+req.UserID)
			}
			if req.UserID == "broken" {
				return profile{}, errors.New("database unreachable")
			}
			return profile{UserID: req.UserID, Name: "Ana"}, nil
		}))
		require.NoError(t, err)
		_, err = w.OnRequest(context.Background(), "session:slow", mesh.ResponderFunc(func(ctx context.Context, ev *mesh.Event) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, nil
		}))
		require.NoError(t, err)
		_, err = w.OnRequest(context.Background(), "session:panic", mesh.ResponderFunc(func(ctx context.Context, ev *mesh.Event) (any, error) {
			panic("responder bug")
		}))
		require.NoError(t, err)
	}
	ctx := context.Background()

	t.Run("reply", func(t *testing.T) {
		reply, err := timeline.Request(ctx, "exprsn-auth", "profile:get", profileReq{UserID: "u1"})
		require.NoError(t, err)
		require.Equal(t, "exprsn-auth", reply.Source)
		require.Equal(t, "profile:get", reply.Type)
		var p profile
		require.NoError(t, reply.Decode(&p))
		require.Equal(t, profile{UserID: "u1", Name: "Ana"}, p)
	})

	t.Run("typed call", func(t *testing.T) {
		p, err := mesh.Call[profile](ctx, timeline, "exprsn-auth", "profile:get", profileReq{UserID: "u2"})
		require.NoError(t, err)
		require.Equal(t, profile{UserID: "u2", Name: "Ana"}, p)
		_, err = mesh.Call[profile](ctx, timeline, "exprsn-auth", "profile:get", profileReq{UserID: "missing"})
		require.ErrorIs(t, err, mesh.ErrRemote)
		_, err = mesh.Call[[]int](ctx, timeline, "exprsn-auth", "profile:get", profileReq{UserID: "u3"})
		require.ErrorContains(t, err, "decode data", "a reply that does not decode into Resp")
	})

	t.Run("remote error with code", func(t *testing.T) {
		_, err := timeline.Request(ctx, "exprsn-auth", "profile:get", profileReq{UserID: "missing"})
		var re *mesh.RemoteError
		require.ErrorAs(t, err, &re)
		require.ErrorIs(t, err, mesh.ErrRemote)
		require.Equal(t, 404, re.Code)
		require.Equal(t, "no user missing", re.Message)
		require.Equal(t, "exprsn-auth", re.Service)
		require.Zero(t, auth1.Stats().Failed+auth2.Stats().Failed, "a 404 is an answer, not a failure")
	})

	t.Run("plain error is code 500", func(t *testing.T) {
		_, err := timeline.Request(ctx, "exprsn-auth", "profile:get", profileReq{UserID: "broken"})
		var re *mesh.RemoteError
		require.ErrorAs(t, err, &re)
		require.Equal(t, 500, re.Code)
		require.Equal(t, "database unreachable", re.Message)
	})

	t.Run("undecodable request is code 400", func(t *testing.T) {
		_, err := timeline.Request(ctx, "exprsn-auth", "profile:get", []int{1})
		var re *mesh.RemoteError
		require.ErrorAs(t, err, &re)
		require.Equal(t, 400, re.Code)
	})

	t.Run("panic is code 500 and the worker survives", func(t *testing.T) {
		_, err := timeline.Request(ctx, "exprsn-auth", "session:panic", nil)
		var re *mesh.RemoteError
		require.ErrorAs(t, err, &re)
		require.Equal(t, 500, re.Code)
		_, err = timeline.Request(ctx, "exprsn-auth", "profile:get", profileReq{UserID: "u2"})
		require.NoError(t, err)
	})

	t.Run("no responders is immediate", func(t *testing.T) {
		start := time.Now()
		_, err := timeline.Request(ctx, "exprsn-herald", "profile:get", nil)
		require.ErrorIs(t, err, mesh.ErrNoResponders)
		require.Less(t, time.Since(start), mesh.DefaultRequestTimeout, "no responders must not wait for the timeout")
	})

	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := timeline.Request(ctx, "exprsn-auth", "session:slow", nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("broadcast is refused", func(t *testing.T) {
		_, err := timeline.Request(ctx, "all", "profile:get", nil)
		require.Error(t, err)
	})
}
