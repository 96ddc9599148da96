package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("Start twice = %q both times; want two databases", a)
	}
	for _, url := range []string{a, b} {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d tables, %v; want an empty database", url, n, err)
		}
		c.Close(ctx)
	}
}

// TestSkipsWithoutPostgres: outside CI, a machine without PostgreSQL
// skips the tests that need it, saying so.
func TestSkipsWithoutPostgres(t *testing.T) {
	t.Setenv("HUB_REQUIRE_POSTGRES", "")
	t.Setenv("CI", "")
	saved := binGlob
	binGlob = t.TempDir() + "/*/bin"
	defer func() { binGlob = saved }()
	var skipped bool
	t.Run("needs PostgreSQL", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Start(t)
	})
	if !skipped {
		t.Error("Start without PostgreSQL's programs did not skip")
	}
}

func TestBinDirNewest(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		d := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"initdb", "pg_ctl"} {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	saved := binGlob
	binGlob = root + "/*/bin"
	defer func() { binGlob = saved }()
	if got, want := BinDir(), filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("BinDir() = %q; want %q (the newest version, by number)", got, want)
	}
}
