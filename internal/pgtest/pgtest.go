// Package pgtest starts a real PostgreSQL server for tests: one per test
// binary, started on first use and stopped (its folder removed) when the
// package's tests end, with a fresh database for each test.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// (or os.Exit(pgtest.Run(m)) in a TestMain that does more),
// and call Start(t) in each test for the URL of an empty database.
// Without PostgreSQL's binaries the tests skip, loudly, unless
// HUB_REQUIRE_POSTGRES=1 or CI=true, when they fail.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// SkipMessage is what a test that cannot run says.
const SkipMessage = "PostgreSQL not installed: the PostgreSQL store is NOT tested"

var (
	mainCalled atomic.Bool
	once       sync.Once
	srv        *server
	startErr   error
	dbs        atomic.Int64
)

// binGlob is where Debian installs each major version's programs.
var binGlob = "/usr/lib/postgresql/*/bin"

type server struct {
	bin, base, data string
	asRoot          bool
	port            int
	opts            string // the postgres options it runs with
}

// Main runs the tests, stops the server if one was started, and exits.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests and stops the server if one was started, returning
// m.Run's code: for a TestMain that does more after the tests.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
		srv = nil
	}
	return code
}

// Required reports whether a missing PostgreSQL fails the tests (CI).
func Required() bool {
	return os.Getenv("HUB_REQUIRE_POSTGRES") == "1" || os.Getenv("CI") == "true"
}

// Start returns the URL of a new, empty database on the test server,
// starting the server on first use. It skips the test when PostgreSQL is
// not installed (failing instead when Required).
func Start(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest.Start without pgtest.Main or Run: call one from TestMain so the server is stopped")
	}
	bin := BinDir()
	if bin == "" {
		if Required() {
			t.Fatal(SkipMessage + " (HUB_REQUIRE_POSTGRES=1 or CI=true: install the postgresql package)")
		}
		t.Skip(SkipMessage)
	}
	once.Do(func() { srv, startErr = start(bin, false) })
	if startErr != nil {
		t.Fatalf("starting PostgreSQL: %v", startErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("test_%d", dbs.Add(1))
	if err := srv.exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := srv.exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

// BinDir is the newest installed /usr/lib/postgresql/*/bin holding
// initdb and pg_ctl ("" when none is).
func BinDir() string {
	dirs, _ := filepath.Glob(binGlob)
	version := func(d string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://hub@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func (s *server) exec(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	return err
}

// start makes a cluster in a new folder and starts it on a free port of
// 127.0.0.1. PostgreSQL refuses to run as root: as root, the cluster
// belongs to the postgres user and the commands run as it.
func start(bin string, durable bool) (*server, error) {
	asRoot := os.Geteuid() == 0
	parent := os.TempDir()
	if asRoot && !reachable(parent) {
		// make test's TMPDIR is a folder of root's own: use a shared one.
		for _, d := range []string{"/dev/shm", "/tmp"} {
			if reachable(d) {
				parent = d
				break
			}
		}
	}
	base, err := os.MkdirTemp(parent, "hub-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, base: base, data: filepath.Join(base, "data"), asRoot: asRoot}
	fail := func(err error) (*server, error) {
		os.RemoveAll(base)
		return nil, err
	}
	if err := os.Mkdir(s.data, 0o700); err != nil {
		return fail(err)
	}
	if s.asRoot {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running as root needs a postgres user: %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// The postgres user must reach the folder through base.
		if err := os.Chmod(base, 0o755); err != nil {
			return fail(err)
		}
		if err := os.Chown(s.data, uid, gid); err != nil {
			return fail(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-A", "trust", "-U", "hub", "--no-sync"); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	if s.port, err = freePort(); err != nil {
		return fail(err)
	}
	// -F turns fsync off: a test server's data need not survive a crash,
	// and the tests are much faster without it.
	s.opts = fmt.Sprintf("-k %s -h 127.0.0.1 -p %d", s.data, s.port)
	if !durable {
		s.opts += " -F"
	}
	if err := s.pgStart(); err != nil {
		return fail(err)
	}
	return s, nil
}

// pgStart starts the cluster and waits until it accepts connections.
func (s *server) pgStart() error {
	if out, err := s.run("pg_ctl", "-D", s.data, "-o", s.opts, "-l", filepath.Join(s.data, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.data, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// Server is a PostgreSQL server of one's own, with fsync on as a
// production server runs: for make bench, or a test that stops it.
type Server struct{ s *server }

// StartServer starts a durable server on 127.0.0.1 and a free port.
func StartServer() (*Server, error) {
	bin := BinDir()
	if bin == "" {
		return nil, errors.New("PostgreSQL is not installed (apt-get install postgresql)")
	}
	s, err := start(bin, true)
	if err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// Database creates an empty database and returns its URL.
func (s *Server) Database(ctx context.Context, name string) (string, error) {
	if err := s.s.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return s.s.url(name), nil
}

// Pause stops the server, keeping its data, as an outage would; Resume
// starts it again on the same port.
func (s *Server) Pause() error {
	if out, err := s.s.run("pg_ctl", "-D", s.s.data, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Resume starts a paused server again.
func (s *Server) Resume() error { return s.s.pgStart() }

// Stop stops the server and removes its files.
func (s *Server) Stop() error { return s.s.stop() }

func (s *server) stop() error {
	out, err := s.run("pg_ctl", "-D", s.data, "-m", "fast", "stop")
	if rerr := os.RemoveAll(s.base); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("stopping PostgreSQL: %v\n%s", err, out)
	}
	return nil
}

func (s *server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	if s.asRoot {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(s.bin, name)}, args...)...)
	}
	cmd.Dir = s.base
	return cmd.CombinedOutput()
}

// reachable tells whether every user may pass through dir and the
// folders above it (the postgres user must reach the data folder).
func reachable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		up := filepath.Dir(dir)
		if up == dir {
			return true
		}
		dir = up
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("no TCP port")
	}
	return addr.Port, nil
}
