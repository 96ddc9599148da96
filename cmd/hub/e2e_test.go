package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
	"github.com/hubhq/hub/internal/pgtest"
)

// The end-to-end tests run the real hub binary, built once.
var hubBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hub-e2e")
	if err != nil {
		panic(err)
	}
	hubBin = filepath.Join(dir, "hub")
	if out, err := exec.Command("go", "build", "-o", hubBin, ".").CombinedOutput(); err != nil {
		panic("building hub: " + err.Error() + "\n" + string(out))
	}
	code := pgtest.Run(m)
	s3test.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func hub(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return hubEnv(t, dir, nil, args...)
}

// hubEnv is hub with more environment variables.
func hubEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "HUB_KEYS="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func copyContent(t *testing.T, dst string) {
	t.Helper()
	src, _ := filepath.Abs("../../content")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckBuildVerify(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))

	r := hub(t, dir, "check")
	if r.code != 0 || !strings.Contains(r.stdout, "content: ok") {
		t.Fatalf("hub check = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = hub(t, dir, "build")
	if r.code != 0 || !regexp.MustCompile(`built public: \d+ clients \(\d+ rendered\), \d+ pages, \d+ PDFs \(\d+ reused, [0-9.a-zµ]+ rendering\), \d+ files`).MatchString(r.stdout) {
		t.Fatalf("hub build = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "made a new signing key") || !strings.Contains(r.stderr, filepath.Join(".hub", "keys")) {
		t.Errorf("first build did not say it made a key: %q", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hub", "keys", "current")); err != nil {
		t.Errorf("no key in .hub/keys: %v", err)
	}

	r = hub(t, dir, "build")
	if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("second hub build = %d %q; want up to date", r.code, r.stdout)
	}

	r = hub(t, dir, "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("hub verify = %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Tamper with one client's page: verify names it and fails.
	page := filepath.Join(dir, "public", "c", "hawthorne-bistro", "index.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(page, bytes.Replace(b, []byte("</main>"), []byte("<a href=https://evil.example>pay here</a></main>"), 1), 0o644)
	r = hub(t, dir, "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "c/hawthorne-bistro") || !strings.Contains(r.stderr, "index.html") {
		t.Errorf("hub verify after tampering = %d\n%s%s; want exit 1 naming the file", r.code, r.stdout, r.stderr)
	}

	// A new key: the old bundles still verify once the tampered page is restored by a full build.
	r = hub(t, dir, "keys")
	if r.code != 0 {
		t.Fatalf("hub keys = %d %s", r.code, r.stderr)
	}
	r = hub(t, dir, "build")
	if r.code != 0 {
		t.Fatalf("hub build after key rotation = %d %s", r.code, r.stderr)
	}
	r = hub(t, dir, "verify")
	if r.code != 0 {
		t.Errorf("hub verify after rotation and rebuild = %d\n%s", r.code, r.stderr)
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	copyContent(t, filepath.Join(dir, "content"))
	if r := hub(t, dir, "build"); r.code != 0 {
		t.Fatalf("hub build = %d %s", r.code, r.stderr)
	}
	before, _ := os.Readlink(filepath.Join(dir, "public"))

	client := filepath.Join(dir, "content", "clients", "marisol-chen", "client.yaml")
	b, _ := os.ReadFile(client)
	os.WriteFile(client, append(b, []byte("nickname: M\n")...), 0o644)
	os.MkdirAll(filepath.Join(dir, "content", "clients", "marisol-chen", "invoices"), 0o755)
	os.WriteFile(filepath.Join(dir, "content", "clients", "marisol-chen", "invoices", "bad.yaml"), []byte(
		"number: INV-9001\nsubject: Test\nstatus: overdue\nissued: 2026-02-30\ndue: 2026-03-01\nlines:\n  - name: Work\n    unit_price: 12.345\n"), 0o644)

	r := hub(t, dir, "check")
	if r.code != 1 {
		t.Fatalf("hub check on bad content = %d; want 1\n%s", r.code, r.stderr)
	}
	for _, w := range []string{
		`client.yaml:\d+:1: unknown field "nickname"`,
		`bad.yaml:3:9: unknown invoice status "overdue"`,
		`bad.yaml:4:9: issued: "2026-02-30" is not a date`,
		`bad.yaml:8:17: unit_price: "12.345" has more than 2 digits`,
		`4 problems found`,
	} {
		if !regexp.MustCompile(w).MatchString(r.stderr) {
			t.Errorf("hub check output lacks %s:\n%s", w, r.stderr)
		}
	}

	r = hub(t, dir, "build")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("hub build on bad content = %d\n%s; want exit 1 and nothing written", r.code, r.stderr)
	}
	if after, _ := os.Readlink(filepath.Join(dir, "public")); after != before {
		t.Errorf("a failed build moved the output from %s to %s", before, after)
	}
	if r := hub(t, dir, "verify"); r.code != 0 {
		t.Errorf("previous output no longer verifies after a failed build:\n%s", r.stderr)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	if r := hub(t, dir); r.code != 2 || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("hub with no command = %d %q", r.code, r.stderr)
	}
	if r := hub(t, dir, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("hub frobnicate = %d %q", r.code, r.stderr)
	}
	if r := hub(t, dir, "check", "-content", filepath.Join(dir, "nope")); r.code != 1 || !strings.Contains(r.stderr, "site.yaml: missing") {
		t.Errorf("hub check on a missing folder = %d %q", r.code, r.stderr)
	}
	if r := hub(t, dir, "verify"); r.code != 1 {
		t.Errorf("hub verify with nothing built = %d %q; want 1", r.code, r.stderr)
	}
	// A command's -h: its arguments, and only its own flags.
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"send", "-h"}, []string{"usage: hub send quote|invoice NUMBER", "-smtp", "-base-url"}, []string{"-stripe-api", "-trusted-proxies", "-session-ttl", "-upload-quota"}},
		{[]string{"link", "-h"}, []string{"usage: hub link CLIENT-ID or EMAIL", "-print"}, []string{"-stripe-api", "-mail-retry"}},
		{[]string{"payments", "-h"}, []string{"hub payments simulate SESSION-ID", "-n"}, []string{"-smtp", "-stripe-api"}},
		{[]string{"payments", "simulate", "-h"}, []string{"hub payments simulate SESSION-ID paid|processing|failed", "-state"}, []string{"-site", "-smtp"}},
		{[]string{"edge", "-h"}, []string{"-stripe-api", "-trusted-proxies", "-smtp"}, nil},
	} {
		r := hub(t, dir, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("hub %s: no %q in\n%s", strings.Join(tc.args, " "), w, r.stderr)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.stderr, n+" ") {
				t.Errorf("hub %s lists %s, which it does not use", strings.Join(tc.args, " "), n)
			}
		}
	}
}

// TestSubscriptionsCommand: hub subscriptions lists what clients pay
// regularly, leaving drafts and ended ones to -all.
func TestSubscriptionsCommand(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	copyContent(t, content)
	draft := "number: SUB-9\ntitle: Winter plan\nstatus: draft\ninterval: quarter\nstart: 2027-01-01\nlines:\n  - name: Visit\n    unit_price: 90.00\n"
	if err := os.MkdirAll(filepath.Join(content, "clients", "lindqvist", "subscriptions"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(content, "clients", "lindqvist", "subscriptions", "winter.yaml"), []byte(draft), 0o644); err != nil {
		t.Fatal(err)
	}
	r := hub(t, dir, "subscriptions")
	if r.code != 0 || !regexp.MustCompile(`whitfield-dental\s+SUB-3001\s+Grounds care plan\s+active\s+\$785\.00\s+month\s+\d{4}-\d\d-28`).MatchString(r.stdout) ||
		strings.Contains(r.stdout, "SUB-9") || !strings.Contains(r.stdout, "1 draft, cancelled or ended not listed") {
		t.Errorf("hub subscriptions = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := hub(t, dir, "subscriptions", "-all"); !strings.Contains(r.stdout, "SUB-9") || !strings.Contains(r.stdout, "draft") {
		t.Errorf("hub subscriptions -all:\n%s%s", r.stdout, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(content, "clients", "lindqvist", "subscriptions", "winter.yaml"), []byte(strings.Replace(draft, "quarter", "season", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := hub(t, dir, "subscriptions"); r.code == 0 || !strings.Contains(r.stderr, `winter.yaml:4:11: unknown interval "season"`) {
		t.Errorf("hub subscriptions with a bad file = %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
