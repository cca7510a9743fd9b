package securitytest

import (
	"os"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/permissions"
)

// TestSecurityDocShowsTheGeneratedConfig keeps the least-privilege
// configuration in docs/security.md what package permissions generates for
// the seed's services with private inboxes, the setup the other tests run.
func TestSecurityDocShowsTheGeneratedConfig(t *testing.T) {
	config, err := permissions.Config(seedUsers(t, true))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```\n"+config+"```\n") {
		t.Fatalf("docs/security.md does not show the generated configuration; put this in it:\n%s", config)
	}
}
