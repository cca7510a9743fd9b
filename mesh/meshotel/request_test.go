package meshotel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TestRequestReplyIsOneTrace checks the spans of a request and its reply,
// and how the responder's outcome shows on them.
func TestRequestReplyIsOneTrace(t *testing.T) {
	for _, tt := range []struct {
		name        string
		err         error // what the responder returns
		wantRespond codes.Code
		wantCode    int64 // AttrErrorCode on both spans, 0 for none
	}{
		{name: "answer", wantRespond: codes.Unset},
		{name: "not found", err: mesh.NewRemoteError(404, "no such session"), wantRespond: codes.Unset, wantCode: 404},
		{name: "failure", err: errors.New("session store down"), wantRespond: codes.Error, wantCode: 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := testutil.StartServer(t, testutil.WithoutJetStream())
			tr := newTraces()
			auth := tr.connect(t, srv, "exprsn-auth", mesh.Config{})
			_, err := auth.OnRequest(t.Context(), "session:validate", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return map[string]bool{"valid": true}, nil
			}))
			require.NoError(t, err)
			spark := tr.connect(t, srv, "exprsn-spark", mesh.Config{})

			_, err = spark.Request(t.Context(), "exprsn-auth", "session:validate", map[string]string{"token": "t"})
			require.Equal(t, tt.err != nil, err != nil, "request error: %v", err)

			names := []string{"request session:validate", "respond session:validate"}
			if tt.err == nil {
				names = append(names, "reply session:validate")
			}
			spans := tr.wait(t, names...)
			request, respond := one(t, spans[names[0]]), one(t, spans[names[1]])
			require.Equal(t, trace.SpanKindClient, request.SpanKind())
			require.False(t, request.Parent().IsValid(), "the request starts the trace")
			require.Equal(t, trace.SpanKindServer, respond.SpanKind())
			require.Equal(t, request.SpanContext(), respond.Parent().WithRemote(false))
			require.True(t, respond.Parent().IsRemote(), "the respond span's parent came in the request")
			require.Equal(t, tt.wantRespond, respond.Status().Code)
			require.Equal(t, tt.wantCode, attr(respond, meshotel.AttrErrorCode).AsInt64())
			require.Equal(t, tt.wantCode, attr(request, meshotel.AttrErrorCode).AsInt64())
			if tt.err == nil {
				reply := one(t, spans[names[2]])
				require.Equal(t, trace.SpanKindProducer, reply.SpanKind())
				require.Equal(t, respond.SpanContext(), reply.Parent())
				require.Equal(t, codes.Unset, request.Status().Code)
			} else {
				require.Equal(t, codes.Error, request.Status().Code, "the requester failed")
			}
		})
	}
}
