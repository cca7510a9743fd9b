// Package pgtest runs a throwaway PostgreSQL server for tests: initdb in a
// temporary directory, then postgres as a child process listening on a
// Unix socket in that directory only (no TCP port), with fsync off, until
// Stop.
//
// It needs PostgreSQL's server binaries (initdb, postgres): from
// $PGTEST_BIN if set, else /usr/lib/postgresql/<version>/bin (Debian and
// Ubuntu's postgresql package, the newest version first), else $PATH.
// When they are missing, tests fail with what to install, unless
// $PGTEST_SKIP is set, which makes them skip.
//
// PostgreSQL refuses to run as root. Run as root (containers, CI), pgtest
// runs initdb and postgres as the user "postgres" if it exists, else
// "nobody", gives that user the data directory, and opens the test's
// temporary directory to it (mode 0711 on its parent).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/testutil"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Environment variables that change what pgtest does.
const (
	// BinEnv names the directory of initdb and postgres.
	BinEnv = "PGTEST_BIN"
	// SkipEnv, set to anything, makes tests skip instead of fail when the
	// binaries are missing.
	SkipEnv = "PGTEST_SKIP"
)

// ErrNotInstalled says PostgreSQL's server binaries were not found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, postgres) not found: install them (apt-get install -y postgresql), set " + BinEnv + " to their directory, or set " + SkipEnv + "=1 to skip the PostgreSQL tests")

// ReadyTimeout bounds how long New waits for the server to accept
// connections; generous for loaded CI machines.
const ReadyTimeout = 60 * time.Second

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir    string // data directory's parent, and the socket's directory
	owned  bool   // dir is ours to remove (not a t.TempDir)
	cmd    *exec.Cmd
	exited chan struct{}
	output testutil.Buffer
	dbs    atomic.Int64
}

// Start starts a server with its files in t.TempDir() and stops it in
// t.Cleanup. It fails the test when the server does not start, and when
// the binaries are missing unless SkipEnv is set.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := newServer(t.TempDir(), false)
	Check(t, err)
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// New starts a server with its files in a new temporary directory, which
// Stop removes: for a server shared by a test binary, started once and
// stopped in TestMain.
func New() (*Server, error) {
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s, err := newServer(dir, true)
	if err != nil {
		os.RemoveAll(dir)
	}
	return s, err
}

// Check fails t with err (New's), or skips it when err is ErrNotInstalled
// and SkipEnv is set.
func Check(t testing.TB, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotInstalled) && os.Getenv(SkipEnv) != "":
		t.Skipf("pgtest: %v", err)
	default:
		t.Fatalf("pgtest: %v", err)
	}
}

func newServer(dir string, owned bool) (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	if len(dir) > 80 { // a socket's path has at most 107 bytes
		return nil, fmt.Errorf("pgtest: directory %s too long for a Unix socket; set TMPDIR shorter", dir)
	}
	cred, err := prepare(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, owned: owned, exited: make(chan struct{})}
	data := filepath.Join(dir, "data")
	initdb := s.command(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
	if err := initdb.Run(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, s.output.String())
	}
	s.cmd = s.command(cred, filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: postgres: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }() //nolint:errcheck // the exit shows in the output
	if err := s.waitReady(); err != nil {
		s.Stop() //nolint:errcheck // already failing
		return nil, err
	}
	return s, nil
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	candidates := []string{os.Getenv(BinEnv)}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return version(b) - version(a) })
	candidates = append(candidates, versions...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if dir != "" && executable(filepath.Join(dir, "initdb")) && executable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// command runs as cred (nil: as this process) with its output in
// s.output, and dies with the test binary.
func (s *Server) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = &s.output, &s.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// waitReady waits until the server answers, it exits, or ReadyTimeout.
func (s *Server) waitReady() error {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := db.PingContext(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited: %w\n%s", err, s.output.String())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready within %s: %w\n%s", ReadyTimeout, err, s.output.String())
		case <-tick.C:
		}
	}
}

// DSN is the connection string of database name, for the "pgx" driver.
func (s *Server) DSN(name string) string {
	return "host=" + s.dir + " user=postgres sslmode=disable dbname=" + name
}

// NewDatabase creates an empty database and returns it open with the
// "pgx" driver, closed in t.Cleanup.
func (s *Server) NewDatabase(t testing.TB) *sql.DB {
	t.Helper()
	name := "test" + strconv.FormatInt(s.dbs.Add(1), 10)
	admin, err := sql.Open("pgx", s.DSN("postgres"))
	if err == nil {
		_, err = admin.Exec("CREATE DATABASE " + name)
		admin.Close()
	}
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	db, err := sql.Open("pgx", s.DSN(name))
	if err != nil {
		t.Fatalf("pgtest: open database %s: %v", name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Stop stops the server (a fast shutdown; killed after 10 s) and removes
// its files if New made them. It is safe to call more than once.
func (s *Server) Stop() error {
	defer func() {
		if s.owned {
			os.RemoveAll(s.dir)
		}
	}()
	select {
	case <-s.exited:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck // it may have exited meanwhile
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck // as above
		<-s.exited
		return fmt.Errorf("postgres did not stop within 10s and was killed\n%s", s.output.String())
	}
}
