package permissions_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

func TestForBrowser(t *testing.T) {
	tests := []struct {
		name    string
		browser permissions.Browser
		want    []string
		wantErr error  // matched with errors.Is
		wantMsg string // or a part of the error's text
	}{{
		name: "public feed and one user's events",
		browser: permissions.Browser{Name: "browser-u42", Feeds: []permissions.Feed{
			{Event: "post:created"}, {Target: subjects.Broadcast, Event: "user:u42:>"}, {Target: "exprsn-spark", Event: "presence:*"}}},
		want: []string{
			"ipc.all.post.created", "ipc.all.post.created browser-u42",
			"ipc.all.user.u42.>", "ipc.all.user.u42.> browser-u42",
			"ipc.exprsn-spark.presence.*", "ipc.exprsn-spark.presence.* browser-u42",
		},
	}, {
		name:    "no feeds",
		browser: permissions.Browser{Name: "browser-u42"},
		wantMsg: "no feeds",
	}, {
		name:    "invalid pattern",
		browser: permissions.Browser{Name: "browser-u42", Feeds: []permissions.Feed{{Event: "user.u42"}}},
		wantErr: subjects.ErrInvalidName,
	}, {
		name:    "empty pattern",
		browser: permissions.Browser{Name: "browser-u42", Feeds: []permissions.Feed{{Target: "all"}}},
		wantMsg: "no event pattern",
	}, {
		name:    "invalid name",
		browser: permissions.Browser{Name: "u 42", Feeds: []permissions.Feed{{Event: "post:created"}}},
		wantErr: subjects.ErrInvalidName,
	}, {
		name:    "named as the operator",
		browser: permissions.Browser{Name: permissions.OperatorName, Feeds: []permissions.Feed{{Event: "post:created"}}},
		wantMsg: "operator",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := permissions.ForBrowser("ipc", tc.browser)
			if tc.wantErr != nil || tc.wantMsg != "" {
				if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("error = %v, want %v %q", err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := u.Permissions
			if len(p.Publish) != 0 || !slices.Equal(p.DenyPublish, []string{">"}) || p.AllowResponses {
				t.Errorf("a browser may publish: %+v", p)
			}
			if !slices.Equal(p.Subscribe, tc.want) {
				t.Errorf("subscribe = %q, want %q", p.Subscribe, tc.want)
			}
			if !slices.Equal(u.ConnectionTypes, []string{permissions.ConnectionWebSocket}) || u.Name != tc.browser.Name {
				t.Errorf("user %q with connection types %q", u.Name, u.ConnectionTypes)
			}
		})
	}
}

// TestEdge: an edge may create consumers of the event stream only with
// its feeds' filters in the API subject, and reach no durable consumer
// of the namespace but to read its own as before.
func TestEdge(t *testing.T) {
	heraldQueued := subjects.ConsumerName("exprsn-herald", "notification:queued")
	webOwn := subjects.ConsumerName("exprsn-web", "audit:*")
	users, err := permissions.ForServices("ipc",
		permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}},
		permissions.Service{Name: "exprsn-web", Durable: []string{"audit:*"}, Edge: []permissions.Feed{
			{Event: "post:created"}, {Target: "exprsn-spark", Event: "presence:>"}}})
	if err != nil {
		t.Fatal(err)
	}
	web := users[1].Permissions
	for _, want := range []string{
		"$JS.API.CONSUMER.CREATE.MESH_ipc.*.ipc.all.post.created",
		"$JS.API.CONSUMER.CREATE.MESH_ipc.*.ipc.exprsn-spark.presence.>",
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc.*",
		"$JS.API.CONSUMER.INFO.MESH_ipc.*",
		"$JS.API.CONSUMER.DELETE.MESH_ipc.*",
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc." + webOwn,
	} {
		if !slices.Contains(web.Publish, want) {
			t.Errorf("the edge may not publish %s", want)
		}
	}
	wantDeny := []string{
		"$JS.API.CONSUMER.*.MESH_ipc." + heraldQueued,
		"$JS.API.CONSUMER.*.MESH_ipc." + heraldQueued + ".>",
		"$JS.API.CONSUMER.MSG.NEXT.MESH_ipc." + heraldQueued,
		"$JS.API.CONSUMER.CREATE.MESH_ipc." + webOwn,
		"$JS.API.CONSUMER.CREATE.MESH_ipc." + webOwn + ".>",
		"$JS.API.CONSUMER.DELETE.MESH_ipc." + webOwn,
	}
	if !slices.Equal(web.DenyPublish, wantDeny) {
		t.Errorf("deny = %q\nwant %q", web.DenyPublish, wantDeny)
	}
	if len(users[0].Permissions.DenyPublish) != 0 {
		t.Errorf("a service without an edge is denied %q", users[0].Permissions.DenyPublish)
	}
	// Alone, the edge knows only its own consumers.
	alone, err := permissions.ForService("ipc", permissions.Service{Name: "exprsn-web", Edge: []permissions.Feed{{Event: "post:created"}}})
	if err != nil || len(alone.DenyPublish) != 0 {
		t.Errorf("ForService: %v, deny %q", err, alone.DenyPublish)
	}
	if _, err := permissions.ForService("ipc", permissions.Service{Name: "exprsn-web", Edge: []permissions.Feed{{Event: "post.created"}}}); !errors.Is(err, subjects.ErrInvalidName) {
		t.Errorf("an invalid feed: %v", err)
	}
}

// TestSigningKeys: readers get signing.ReaderSubjects, publishers
// signing.PublisherSubjects, and the operator may publish keys as soon as
// a service uses them.
func TestSigningKeys(t *testing.T) {
	users, err := permissions.ForServices("ipc",
		permissions.Service{Name: "exprsn-herald", SigningKeys: true},
		permissions.Service{Name: "exprsn-keys", PublishesSigningKeys: true},
		permissions.Service{Name: "exprsn-timeline"})
	if err != nil {
		t.Fatal(err)
	}
	has := func(p permissions.Permissions, subjects []string) bool {
		return !slices.ContainsFunc(subjects, func(s string) bool { return !slices.Contains(p.Publish, s) })
	}
	reader, publisher := signing.ReaderSubjects("ipc"), signing.PublisherSubjects("ipc")
	if !has(users[0].Permissions, reader) || has(users[0].Permissions, publisher[3:]) {
		t.Errorf("reader: %q", users[0].Permissions.Publish)
	}
	if !has(users[1].Permissions, publisher) {
		t.Errorf("publisher: %q", users[1].Permissions.Publish)
	}
	if has(users[2].Permissions, reader[:1]) {
		t.Errorf("a service without SigningKeys reads keys: %q", users[2].Permissions.Publish)
	}
	op := users[3].Permissions.Publish
	if !has(users[3].Permissions, publisher) || strings.Count(strings.Join(op, " "), "$JS.API.INFO ") != 1 {
		t.Errorf("operator: %q", op)
	}
	without, err := permissions.Operator("ipc", permissions.Service{Name: "exprsn-timeline"})
	if err != nil || has(without, publisher[3:]) {
		t.Errorf("the operator of services without keys publishes keys: %v %q", err, without.Publish)
	}
}

// TestConfigOfRoles: nats-server parses the deny lists and connection
// types of a browser and an edge as Server gives them to an embedded
// server.
func TestConfigOfRoles(t *testing.T) {
	users, err := permissions.ForServices("ipc",
		permissions.Service{Name: "exprsn-herald", Durable: []string{"notification:queued"}},
		permissions.Service{Name: "exprsn-web", Edge: []permissions.Feed{{Event: "post:created"}}})
	if err != nil {
		t.Fatal(err)
	}
	browser, err := permissions.ForBrowser("ipc", permissions.Browser{Name: "browser-u42", Feeds: []permissions.Feed{{Event: "user:u42:>"}}})
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, browser)
	config, err := permissions.Config(users)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		t.Setenv(permissions.PasswordVar(u.Name), "pw")
	}
	var opts server.Options
	if err := opts.ProcessConfigString(config); err != nil {
		t.Fatalf("nats-server refuses the configuration: %v\n%s", err, config)
	}
	for i, u := range users {
		got, want := opts.Users[i], u.Server("pw")
		if got.Username != want.Username || !slices.Equal(got.Permissions.Publish.Deny, want.Permissions.Publish.Deny) ||
			!slices.Equal(got.Permissions.Subscribe.Allow, want.Permissions.Subscribe.Allow) || len(got.AllowedConnectionTypes) != len(want.AllowedConnectionTypes) {
			t.Errorf("%s: parsed %+v %+v, want %+v %+v", u.Name, got.Permissions.Publish, got.AllowedConnectionTypes, want.Permissions.Publish, want.AllowedConnectionTypes)
		}
	}
	if _, ok := opts.Users[3].AllowedConnectionTypes[jwt.ConnectionTypeWebsocket]; !ok {
		t.Errorf("the browser may connect with %v", opts.Users[3].AllowedConnectionTypes)
	}

	claims := jwt.NewUserClaims(newNkey(t))
	browser.JWT(claims)
	var vr jwt.ValidationResults
	claims.Validate(&vr)
	if vr.IsBlocking(true) || !slices.Equal(claims.Pub.Deny, []string{">"}) || !claims.AllowedConnectionTypes.Contains(jwt.ConnectionTypeWebsocket) {
		t.Fatalf("browser JWT %+v: %v", claims.UserPermissionLimits, vr.Errors())
	}
}
