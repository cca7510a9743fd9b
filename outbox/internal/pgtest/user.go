package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// prepare returns the credentials to run PostgreSQL with: nil when this
// process is not root, else those of the user "postgres" (or "nobody"),
// who is given dir and may reach it through its parent.
func prepare(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and no user postgres or nobody to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgtest: user %s has a non-numeric id %s:%s", u.Username, u.Uid, u.Gid)
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("pgtest: give %s to %s: %w", dir, u.Username, err)
	}
	// t.TempDir's parent is private (0700); PostgreSQL's user must
	// traverse it. Directories above it (the system's temporary
	// directory) are open already.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		return nil, fmt.Errorf("pgtest: open %s to %s: %w", filepath.Dir(dir), u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
