package subjects_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/subjects"
)

func TestSubject(t *testing.T) {
	tests := []struct {
		name              string
		ns, target, event string
		want              string
		wantErr           error
		wantKind          subjects.Kind
	}{
		{name: "broadcast", ns: "ipc", target: "all", event: "post:created", want: "ipc.all.post.created"},
		{name: "targeted", ns: "ipc", target: "exprsn-herald", event: "notification:trigger", want: "ipc.exprsn-herald.notification.trigger"},
		{name: "one segment", ns: "prod", target: "auth", event: "login", want: "prod.auth.login"},
		{name: "underscore and digits", ns: "ipc", target: "svc_2", event: "a_1:B-2", want: "ipc.svc_2.a_1.B-2"},
		{name: "empty namespace", ns: "", target: "all", event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindNamespace},
		{name: "dotted namespace", ns: "a.b", target: "all", event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindNamespace},
		{name: "empty target", ns: "ipc", target: "", event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindService},
		{name: "wildcard target", ns: "ipc", target: "*", event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindService},
		{name: "reserved any", ns: "ipc", target: "any", event: "x", wantErr: subjects.ErrReserved, wantKind: subjects.KindService},
		{name: "reserved underscore", ns: "ipc", target: "_stats", event: "x", wantErr: subjects.ErrReserved, wantKind: subjects.KindService},
		{name: "space in service", ns: "ipc", target: "my svc", event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindService},
		{name: "empty event", ns: "ipc", target: "all", event: "", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "empty segment", ns: "ipc", target: "all", event: "post::created", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "trailing colon", ns: "ipc", target: "all", event: "post:", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "dot in event", ns: "ipc", target: "all", event: "post.created", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "wildcard in event", ns: "ipc", target: "all", event: "post:*", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "tab in event", ns: "ipc", target: "all", event: "post\tcreated", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "too many segments", ns: "ipc", target: "all", event: strings.Repeat("a:", subjects.MaxSegments) + "a", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindEvent},
		{name: "too long service", ns: "ipc", target: strings.Repeat("s", subjects.MaxNameLen+1), event: "x", wantErr: subjects.ErrInvalidName, wantKind: subjects.KindService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := subjects.Subject(tt.ns, tt.target, tt.event)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Subject(%q, %q, %q) error = %v, want %v", tt.ns, tt.target, tt.event, err, tt.wantErr)
				}
				var ne *subjects.NameError
				if !errors.As(err, &ne) || ne.Kind != tt.wantKind {
					t.Fatalf("error %v: want a *NameError of kind %q", err, tt.wantKind)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Subject(%q, %q, %q) = %q, %v; want %q", tt.ns, tt.target, tt.event, got, err, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name, target, pattern string
		want                  string
		wantErr               bool
	}{
		{name: "star", target: "all", pattern: "user:*", want: "ipc.all.user.*"},
		{name: "full wildcard", target: "exprsn-auth", pattern: "content:>", want: "ipc.exprsn-auth.content.>"},
		{name: "everything", target: "all", pattern: ">", want: "ipc.all.>"},
		{name: "middle star", target: "all", pattern: "a:*:c", want: "ipc.all.a.*.c"},
		{name: "any target", target: "*", pattern: "post:created", want: "ipc.*.post.created"},
		{name: "plain event", target: "all", pattern: "post:created", want: "ipc.all.post.created"},
		{name: "gt not last", target: "all", pattern: "a:>:b", wantErr: true},
		{name: "partial wildcard", target: "all", pattern: "user*", wantErr: true},
		{name: "empty segment", target: "all", pattern: "a::*", wantErr: true},
		{name: "reserved target", target: "_x", pattern: ">", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := subjects.Filter("ipc", tt.target, tt.pattern)
			if tt.wantErr {
				if !errors.Is(err, subjects.ErrInvalidName) {
					t.Fatalf("Filter(%q, %q) error = %v, want ErrInvalidName", tt.target, tt.pattern, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Filter(%q, %q) = %q, %v; want %q", tt.target, tt.pattern, got, err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		subject string
		want    subjects.Address
		wantErr bool
	}{
		{subject: "ipc.all.post.created", want: subjects.Address{Namespace: "ipc", Target: "all", Event: "post:created"}},
		{subject: "ipc.exprsn-herald.notification.trigger", want: subjects.Address{Namespace: "ipc", Target: "exprsn-herald", Event: "notification:trigger"}},
		{subject: "ipc.all", wantErr: true},
		{subject: "ipc", wantErr: true},
		{subject: "ipc.all.post.*", wantErr: true},
		{subject: "ipc.all.post..x", wantErr: true},
		{subject: "ipc._x.post", wantErr: true},
		{subject: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			got, err := subjects.Parse(tt.subject)
			if tt.wantErr {
				if !errors.Is(err, subjects.ErrInvalidName) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalidName", tt.subject, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.subject, got, err, tt.want)
			}
		})
	}
}

func TestNameErrorNamesTheBadPart(t *testing.T) {
	_, err := subjects.Subject("ipc", "exprsn-herald", "post:cre ated")
	want := `subjects: invalid event name "post:cre ated": segment 2 "cre ated": character ' ' at offset 3 is not allowed (use letters, digits, '-' and '_')`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"post:created", "a", "a:b:c", "post::x", "*", ">", "a.b", "é", "user:*"} {
		f.Add("ipc", "exprsn-timeline", s)
		f.Add("ipc", "all", s)
	}
	f.Fuzz(func(t *testing.T, ns, target, event string) {
		subject, err := subjects.Subject(ns, target, event)
		if err != nil {
			if !errors.Is(err, subjects.ErrInvalidName) {
				t.Fatalf("Subject error %v does not match ErrInvalidName", err)
			}
			return
		}
		got, err := subjects.Parse(subject)
		if err != nil {
			t.Fatalf("Parse(%q) of a valid subject: %v", subject, err)
		}
		want := subjects.Address{Namespace: ns, Target: target, Event: event}
		if got != want {
			t.Fatalf("round trip %+v -> %q -> %+v", want, subject, got)
		}
		if _, err := subjects.Filter(ns, target, event); err != nil {
			t.Fatalf("an event name must also be a valid pattern: %v", err)
		}
	})
}

func BenchmarkSubject(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := subjects.Subject("ipc", "exprsn-herald", "notification:trigger"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRequestSubject(t *testing.T) {
	got, err := subjects.RequestSubject("ipc", "exprsn-auth", "profile:get")
	if err != nil || got != "_rpc.ipc.exprsn-auth.profile.get" {
		t.Fatalf("RequestSubject = %q, %v", got, err)
	}
	if !subjects.IsRequest(got) || subjects.IsRequest("ipc.all.x") {
		t.Fatal("IsRequest does not tell requests from events")
	}
	a, err := subjects.Parse(got)
	if err != nil || a != (subjects.Address{Namespace: "ipc", Target: "exprsn-auth", Event: "profile:get"}) {
		t.Fatalf("Parse(%q) = %+v, %v", got, a, err)
	}
	if _, err := subjects.RequestSubject("ipc", "all", "x"); !errors.Is(err, subjects.ErrReserved) {
		t.Fatalf("a request to all: error %v, want ErrReserved", err)
	}
	f, err := subjects.RequestFilter("ipc", "exprsn-auth", "profile:*")
	if err != nil || f != "_rpc.ipc.exprsn-auth.profile.*" {
		t.Fatalf("RequestFilter = %q, %v", f, err)
	}
	if _, err := subjects.Subject("_rpc", "all", "x"); !errors.Is(err, subjects.ErrReserved) {
		t.Fatalf("namespace _rpc: error %v, want ErrReserved", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ipc.all.post.created", "_rpc.ipc.exprsn-auth.profile.get", "ipc..x", "a.b", "ipc.all.>", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		a, err := subjects.Parse(subject)
		if err != nil {
			if !errors.Is(err, subjects.ErrInvalidName) {
				t.Fatalf("Parse error %v does not match ErrInvalidName", err)
			}
			return
		}
		back, err := a.Subject()
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, which Subject refuses: %v", subject, a, err)
		}
		if strings.TrimPrefix(subject, subjects.RequestPrefix+".") != back {
			t.Fatalf("Parse(%q) = %+v, back to %q", subject, a, back)
		}
	})
}

func TestIsInbox(t *testing.T) {
	for subject, want := range map[string]bool{
		"_INBOX.abc":                    true,
		"_INBOX.abc.def":                true,
		"_INBOX_exprsn-auth.abc.1":      true,
		"_INBOX":                        false,
		"_INBOX.":                       false,
		"_INBOX_exprsn-auth":            false,
		"_INBOX_exprsn-auth.":           false,
		"_INBOX_.abc":                   false,
		"_INBOX..abc":                   false,
		"_INBOX.*":                      false,
		"_INBOX.>":                      false,
		"_INBOX_a*.b":                   false,
		"_INBOXabc.d":                   false,
		"_INBOX.a b":                    false,
		"$KV.MESH_ipc_keys.exprsn-auth": false,
		"_dlq.ipc.exprsn-herald.x":      false,
		"ipc.exprsn-herald.x":           false,
		"$JS.API.STREAM.PURGE.MESH_ipc": false,
	} {
		if got := subjects.IsInbox(subject); got != want {
			t.Errorf("IsInbox(%q) = %v, want %v", subject, got, want)
		}
	}
}
