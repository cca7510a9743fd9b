package mesh_test

import (
	"reflect"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
)

// TestOptionsFitOnlyTheirCalls checks which calls each option compiles
// with: an option that does not apply to a call is not of its option type,
// so no option is ever ignored at run time.
func TestOptionsFitOnlyTheirCalls(t *testing.T) {
	type calls struct{ on, responder, durable, batch, emit, request bool }
	tests := []struct {
		name   string
		option any
		want   calls
	}{
		{"Concurrency", mesh.Concurrency(1), calls{on: true, responder: true, durable: true}},
		{"Use", mesh.Use(), calls{on: true, responder: true, durable: true}},
		{"Timeout", mesh.Timeout(1), calls{on: true, responder: true, durable: true, batch: true}},
		{"PendingLimits", mesh.PendingLimits(1, 1), calls{on: true, responder: true}},
		{"OncePerService", mesh.OncePerService(), calls{on: true}},
		{"DurableName", mesh.DurableName("x"), calls{durable: true, batch: true}},
		{"MaxDeliver", mesh.MaxDeliver(1), calls{durable: true, batch: true}},
		{"Backoff", mesh.Backoff(), calls{durable: true, batch: true}},
		{"AckWait", mesh.AckWait(1), calls{durable: true, batch: true}},
		{"Prefetch", mesh.Prefetch(1), calls{durable: true, batch: true}},
		{"OrderedByKey", mesh.OrderedByKey(), calls{durable: true}},
		{"Batch", mesh.Batch(1, 1), calls{batch: true}},
		{"To", mesh.To("x"), calls{emit: true}},
		{"ToSelf", mesh.ToSelf(), calls{emit: true}},
		{"Broadcast", mesh.Broadcast(), calls{emit: true}},
		{"WithID", mesh.WithID("x"), calls{emit: true, request: true}},
		{"WithContentType", mesh.WithContentType("x"), calls{emit: true, request: true}},
		{"WithExtension", mesh.WithExtension("x", "y"), calls{emit: true, request: true}},
		{"WithPartitionKey", mesh.WithPartitionKey("x"), calls{emit: true, request: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, on := tt.option.(mesh.OnOption)
			_, responder := tt.option.(mesh.ResponderOption)
			_, durable := tt.option.(mesh.DurableOption)
			_, batch := tt.option.(mesh.BatchOption)
			_, emit := tt.option.(mesh.EmitOption)
			_, request := tt.option.(mesh.RequestOption)
			if got := (calls{on, responder, durable, batch, emit, request}); got != tt.want {
				t.Errorf("%s fits %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
	if reflect.TypeFor[mesh.HandlerOption]().Implements(reflect.TypeFor[mesh.BatchOption]()) {
		t.Error("HandlerOption (Concurrency, Use) fits OnDurableBatch")
	}
}
