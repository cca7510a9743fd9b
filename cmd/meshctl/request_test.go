package main

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

func TestRequest(t *testing.T) {
	s := testutil.StartServer(t)
	auth := testutil.Connect(t, s, "exprsn-auth")
	type token struct{ Token string }
	type session struct {
		Valid bool   `json:"valid"`
		User  string `json:"user"`
	}
	_, err := auth.OnRequest(context.Background(), "session:validate", mesh.TypedResponder(func(_ context.Context, ev *mesh.Event, req token) (session, error) {
		if req.Token != "good" {
			return session{}, mesh.NewRemoteError(401, "unknown token "+req.Token)
		}
		return session{Valid: true, User: "ada"}, nil
	}))
	require.NoError(t, err)

	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantOut    string
		wantErr    string
		wantFailed bool
	}{
		{name: "reply", args: []string{"exprsn-auth", "session:validate", `{"Token": "good"}`},
			wantOut: `{"valid":true,"user":"ada"}` + "\n"},
		{name: "data from stdin", args: []string{"exprsn-auth", "session:validate"}, stdin: `{"Token": "good"}`,
			wantOut: `{"valid":true,"user":"ada"}` + "\n"},
		{name: "remote error", args: []string{"exprsn-auth", "session:validate", `{"Token": "bad"}`},
			wantErr: `"exprsn-auth" answered "session:validate" with error 401: unknown token bad`},
		{name: "no data", args: []string{"exprsn-auth", "session:validate"},
			wantErr: "error 400"},
		{name: "no responders", args: []string{"exprsn-nobody", "session:validate", "{}"},
			wantErr: "no responders"},
		{name: "timeout", args: []string{"exprsn-auth", "session:validate", "{}", "--timeout", "1ns"},
			wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"request", "--server", s.URL()}, tt.args...)
			r := meshctlWith(t, withStdin(tt.stdin), args...)
			if tt.wantErr == "" {
				require.Equal(t, 0, r.code, r.stderr)
				require.Equal(t, tt.wantOut, r.stdout)
				return
			}
			require.Equal(t, 1, r.code)
			require.Empty(t, r.stdout)
			requireOneErrorLine(t, r.stderr, tt.wantErr)
		})
	}
}
