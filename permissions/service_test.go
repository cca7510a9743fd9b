package permissions_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
)

func TestForService(t *testing.T) {
	// Replies go to the shared inbox and the service's own: ForService
	// knows no other service. No allow_responses.
	base := []string{"ipc.*.>", "_rpc.ipc.*.>", "$JS.API.STREAM.INFO.MESH_ipc", "$JS.API.STREAM.INFO.MESH_ipc_SCHED", "_INBOX.*.*", "_INBOX_exprsn-herald.*.*"}
	subscribe := func(inbox string) []string {
		return []string{"ipc.exprsn-herald.>", "ipc.all.>", "ipc.all.> exprsn-herald", "_rpc.ipc.exprsn-herald.>", "_mesh.ipc.stats", inbox}
	}
	queued := subjects.ConsumerName("exprsn-herald", "notification:queued")
	advisories := []string{
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.MESH_ipc." + queued,
		"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.MESH_ipc.herald-digest",
	}
	// Each consumer the service's own, by exact name; no creation, update
	// or deletion of anything.
	durable := []string{
		"_dlq.ipc.exprsn-herald.>",
		"$JS.API.CONSUMER.INFO.MESH_ipc." + queued,
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc." + queued,
		"$JS.ACK.MESH_ipc." + queued + ".>",
		"$JS.ACK.*.*.MESH_ipc." + queued + ".>",
		"$JS.API.CONSUMER.INFO.MESH_ipc.herald-digest",
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc.herald-digest",
		"$JS.ACK.MESH_ipc.herald-digest.>",
		"$JS.ACK.*.*.MESH_ipc.herald-digest.>",
	}
	guard := []string{
		"$JS.API.STREAM.INFO.KV_MESH_ipc_handled_exprsn-herald",
		"$JS.API.STREAM.MSG.GET.KV_MESH_ipc_handled_exprsn-herald",
		"$KV.MESH_ipc_handled_exprsn-herald.>",
	}
	heraldDurable := permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}, DurableNames: []string{"herald-digest"}}
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
		want:    permissions.Permissions{Publish: base, Subscribe: subscribe("_INBOX_exprsn-herald.>")},
	}, {
		name:    "shared inbox",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", SharedInbox: true},
		want:    permissions.Permissions{Publish: base, Subscribe: subscribe("_INBOX.>")},
	}, {
		name:    "durable",
		ns:      "ipc",
		service: heraldDurable,
		want:    permissions.Permissions{Publish: slices.Concat(base, durable), Subscribe: append(subscribe("_INBOX_exprsn-herald.>"), advisories...)},
	}, {
		name:    "durable with the idempotency guard",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", Durable: heraldDurable.Durable, DurableNames: heraldDurable.DurableNames, IdempotencyGuard: true},
		want:    permissions.Permissions{Publish: slices.Concat(base, durable, guard), Subscribe: append(subscribe("_INBOX_exprsn-herald.>"), advisories...)},
	}, {
		name:    "broadcasts once per service",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", OncePerService: []string{"user:login", "post:*"}},
		want: permissions.Permissions{
			Publish:   base,
			Subscribe: append(subscribe("_INBOX_exprsn-herald.>"), "ipc.all.user.login exprsn-herald:user:login", "ipc.all.post.* exprsn-herald:post:*"),
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
		name:    "schedules",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", Schedules: true},
		want:    permissions.Permissions{Publish: append(slices.Clone(base), "_sched.ipc.at.>"), Subscribe: subscribe("_INBOX_exprsn-herald.>")},
	}, {
		name:    "invalid durable pattern",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", Durable: []string{"a b"}},
		wantErr: subjects.ErrInvalidName,
	}, {
		name:    "invalid durable name",
		ns:      "ipc",
		service: permissions.Service{Name: "exprsn-herald", DurableNames: []string{"a.b"}},
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
		{"a service twice", []permissions.Service{{Name: "a"}, {Name: "a", Durable: []string{"x"}}}, nil, true},
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

// TestServicesAnswerOnInboxes: ForServices lets every service answer on
// the shared inbox and on each service's private inbox, instead of
// allow_responses, which only the operator keeps.
func TestServicesAnswerOnInboxes(t *testing.T) {
	users, err := permissions.ForServices("ipc", permissions.Service{Name: "a"}, permissions.Service{Name: "b", SharedInbox: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users[:2] {
		for _, inbox := range []string{"_INBOX.*.*", "_INBOX_a.*.*", "_INBOX_b.*.*"} {
			if !slices.Contains(u.Permissions.Publish, inbox) {
				t.Errorf("%s may not publish %s: %q", u.Name, inbox, u.Permissions.Publish)
			}
		}
		if u.Permissions.AllowResponses {
			t.Errorf("%s has allow_responses", u.Name)
		}
	}
	if op := users[2]; op.Name != permissions.OperatorName || !op.Permissions.AllowResponses {
		t.Errorf("the operator %s: allow_responses %t, want true", op.Name, op.Permissions.AllowResponses)
	}
}
