package permissions_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
)

func TestForService(t *testing.T) {
	base := []string{"ipc.*.>", "_rpc.ipc.*.>", "$JS.API.STREAM.INFO.MESH_ipc"}
	subscribe := func(inbox string) []string {
		return []string{"ipc.exprsn-herald.>", "ipc.all.>", "ipc.all.> exprsn-herald", "_rpc.ipc.exprsn-herald.>", "_mesh.ipc.stats", inbox}
	}
	const advisories = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.MESH_ipc.*"
	durable := []string{
		"$JS.API.CONSUMER.INFO.MESH_ipc.*",
		"$JS.API.CONSUMER.CREATE.MESH_ipc.*",
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc.*",
		"_dlq.ipc.exprsn-herald.>",
		"$JS.ACK.MESH_ipc.>",
		"$JS.ACK.*.*.MESH_ipc.>",
	}
	guard := []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.CREATE.KV_MESH_ipc_handled",
		"$JS.API.STREAM.UPDATE.KV_MESH_ipc_handled",
		"$JS.API.DIRECT.GET.KV_MESH_ipc_handled.$KV.MESH_ipc_handled.exprsn-herald.>",
		"$KV.MESH_ipc_handled.exprsn-herald.>",
	}
	tests := []struct {
		name    string
		ns      string
		service permissions.Service
		want    permissions.Permissions
		wantErr error
	}{{
		name:    "live only",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald"},
		want:    permissions.Permissions{Publish: base, Subscribe: subscribe("_INBOX_exprsn-herald.>"), AllowResponses: true},
	}, {
		name:    "shared inbox",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", SharedInbox: true},
		want:    permissions.Permissions{Publish: base, Subscribe: subscribe("_INBOX.>"), AllowResponses: true},
	}, {
		name:    "durable",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", Durable: true},
		want:    permissions.Permissions{Publish: slices.Concat(base, durable), Subscribe: append(subscribe("_INBOX_exprsn-herald.>"), advisories), AllowResponses: true},
	}, {
		name:    "durable with the idempotency guard",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", Durable: true, IdempotencyGuard: true},
		want:    permissions.Permissions{Publish: slices.Concat(base, durable, guard), Subscribe: append(subscribe("_INBOX_exprsn-herald.>"), advisories), AllowResponses: true},
	}, {
		name:    "broadcasts once per service",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", OncePerService: []string{"user:login", "post:*"}},
		want: permissions.Permissions{
			Publish:        base,
			Subscribe:      append(subscribe("_INBOX_exprsn-herald.>"), "ipc.all.user.login exprsn-herald:user:login", "ipc.all.post.* exprsn-herald:post:*"),
			AllowResponses: true,
		},
	}, {
		name:    "invalid once-per-service pattern",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", OncePerService: []string{"user.login"}},
		wantErr: subjects.ErrInvalidName,
	}, {
		name:    "no service name",
		ns:      "ipc",
		wantErr: subjects.ErrInvalidName,
	}, {
		name:    "reserved service name",
		ns:      "ipc",
		service: permissions.Service{Name: "all"},
		wantErr: subjects.ErrReserved,
	}, {
		name:    "wildcard in the namespace",
		ns:      "ipc.*",
		service: permissions.Service{Name: "exprsn-herald"},
		wantErr: subjects.ErrInvalidName,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := permissions.ForService(tc.ns, tc.service)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(got.Publish, tc.want.Publish) || !slices.Equal(got.Subscribe, tc.want.Subscribe) || got.AllowResponses != tc.want.AllowResponses {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestForServices(t *testing.T) {
	tests := []struct {
		name      string
		services  []permissions.Service
		wantUsers []string
		wantErr   bool
	}{
		{"services then the operator", []permissions.Service{{Name: "b"}, {Name: "a"}}, []string{"b", "a", permissions.OperatorName}, false},
		{"operator alone", nil, []string{permissions.OperatorName}, false},
		{"a service twice", []permissions.Service{{Name: "a"}, {Name: "a", Durable: true}}, nil, true},
		{"a service named as the operator", []permissions.Service{{Name: permissions.OperatorName}}, nil, true},
		{"an invalid name", []permissions.Service{{Name: "a.b"}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, err := permissions.ForServices("ipc", tc.services...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want one: %t", err, tc.wantErr)
			}
			var names []string
			for _, u := range users {
				names = append(names, u.Name)
			}
			if !slices.Equal(names, tc.wantUsers) {
				t.Fatalf("users = %q, want %q", names, tc.wantUsers)
			}
		})
	}
}
