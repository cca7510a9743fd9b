package permissions

import (
	"fmt"
	"strconv"
	"strings"
)

// PasswordVar is the variable that Config reads a password user's password
// from: the user name in upper case with '-' as '_', then "_PASSWORD"
// ("exprsn-herald" -> EXPRSN_HERALD_PASSWORD). nats-server resolves it from
// the environment when it loads the configuration, and refuses to start if
// it is not set; its value may be a bcrypt hash (nats server passwd).
func PasswordVar(user string) string {
	return strings.ToUpper(strings.ReplaceAll(user, "-", "_")) + "_PASSWORD"
}

// Config renders users as a nats-server configuration block,
// "authorization { users: [...] }", to include in the server's
// configuration file, with each user's permissions (deny lists included)
// and connection types. A user with an Nkey authenticates with it; any other
// with a password read from the variable PasswordVar(Name), so the block
// holds no secret. It fails if two password users' variables would be the
// same.
func Config(users []User) (string, error) {
	var b strings.Builder
	b.WriteString("authorization {\n  users: [\n")
	vars := make(map[string]string, len(users))
	for _, u := range users {
		b.WriteString("    {\n")
		if u.Nkey != "" {
			fmt.Fprintf(&b, "      # %s\n      nkey: %s\n", strconv.Quote(u.Name), strconv.Quote(u.Nkey))
		} else {
			v := PasswordVar(u.Name)
			if other, dup := vars[v]; dup {
				return "", fmt.Errorf("permissions: users %q and %q would share the password variable %s; rename one", other, u.Name, v)
			}
			vars[v] = u.Name
			fmt.Fprintf(&b, "      user: %s\n      password: $%s\n", strconv.Quote(u.Name), v)
		}
		if len(u.ConnectionTypes) > 0 {
			b.WriteString("      allowed_connection_types: [")
			for i, t := range u.ConnectionTypes {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strconv.Quote(t))
			}
			b.WriteString("]\n")
		}
		b.WriteString("      permissions: {\n")
		writeSubjects(&b, "publish", u.Permissions.Publish, u.Permissions.DenyPublish)
		writeSubjects(&b, "subscribe", u.Permissions.Subscribe, nil)
		if u.Permissions.AllowResponses {
			b.WriteString("        allow_responses: true\n")
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

// writeSubjects writes one block of a permissions block, its allow list
// and, if any, its deny list, a subject a line.
func writeSubjects(b *strings.Builder, name string, allow, deny []string) {
	fmt.Fprintf(b, "        %s: {\n", name)
	writeList(b, "allow", allow)
	if len(deny) > 0 {
		writeList(b, "deny", deny)
	}
	b.WriteString("        }\n")
}

func writeList(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "          %s: [\n", name)
	for _, s := range subjects {
		fmt.Fprintf(b, "            %s\n", strconv.Quote(s))
	}
	b.WriteString("          ]\n")
}
