package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeBundle writes files and a signed manifest into a temp folder.
func makeBundle(t *testing.T, key *PrivateKey, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	m := &Manifest{Client: "acme", Inputs: "x"}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, File{Path: p, Size: int64(len(c)), SHA256: Sum([]byte(c))})
	}
	data, sig, err := Sign(m, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ManifestName), data, 0o644)
	os.WriteFile(filepath.Join(dir, SignatureName), sig, 0o644)
	return dir
}

func verifyDir(t *testing.T, dir string, keys *KeySet) error {
	t.Helper()
	fsys, closeFn, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	_, err = Verify(fsys, keys)
	return err
}

func TestVerify(t *testing.T) {
	keyDir := t.TempDir()
	key, err := GenerateKey(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeySet(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	files := map[string]string{"index.html": "<h1>hi</h1>", "quotes/Q-1/index.html": "quote", "portals/p/files/docs/a.pdf": "%PDF"}

	tests := []struct {
		name    string
		tamper  func(dir string)
		keys    *KeySet
		wantErr string
	}{
		{name: "untouched"},
		{name: "file changed, same size", tamper: func(d string) { os.WriteFile(filepath.Join(d, "index.html"), []byte("<h1>ho</h1>"), 0o644) }, wantErr: "index.html: content does not match"},
		{name: "file grown", tamper: func(d string) { os.WriteFile(filepath.Join(d, "index.html"), []byte("<h1>hi</h1>!"), 0o644) }, wantErr: "index.html: size 12, manifest says 11"},
		{name: "file removed", tamper: func(d string) { os.Remove(filepath.Join(d, "quotes/Q-1/index.html")) }, wantErr: "quotes/Q-1/index.html"},
		{name: "file added", tamper: func(d string) { os.WriteFile(filepath.Join(d, "evil.html"), []byte("x"), 0o644) }, wantErr: "evil.html: not listed in the manifest"},
		{name: "manifest edited", tamper: func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, ManifestName))
			os.WriteFile(filepath.Join(d, ManifestName), []byte(strings.Replace(string(b), `"acme"`, `"acmf"`, 1)), 0o644)
		}, wantErr: "signature is not valid"},
		{name: "signature garbled", tamper: func(d string) { os.WriteFile(filepath.Join(d, SignatureName), []byte("not base64!"), 0o644) }, wantErr: "malformed"},
		{name: "signature missing", tamper: func(d string) { os.Remove(filepath.Join(d, SignatureName)) }, wantErr: "manifest.sig"},
		{name: "untrusted key", keys: NewKeySet(otherPub), wantErr: "not trusted"},
		{name: "symlink out of the bundle", tamper: func(d string) {
			os.Remove(filepath.Join(d, "index.html"))
			os.Symlink("/etc/hostname", filepath.Join(d, "index.html"))
		}, wantErr: "index.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeBundle(t, key, files)
			if tt.tamper != nil {
				tt.tamper(dir)
			}
			ks := keys
			if tt.keys != nil {
				ks = tt.keys
			}
			err := verifyDir(t, dir, ks)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Verify = %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Verify = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	k1, err := GenerateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := makeBundle(t, k1, map[string]string{"a.html": "a"})
	k2, err := GenerateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := LoadSigningKey(dir)
	if err != nil || cur.ID != k2.ID {
		t.Fatalf("LoadSigningKey = %v, %v; want the newest key %s", cur, err, k2.ID)
	}
	keys, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyDir(t, old, keys); err != nil {
		t.Errorf("bundle signed with the previous key: %v; want it still trusted", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, k2.ID+".key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestCleanPath(t *testing.T) {
	tests := map[string]bool{
		"index.html": true, "quotes/Q-1/index.html": true, "portals/p/files/docs/Plans/a b.pdf": true,
		"": false, ".": false, "../x": false, "a/../b": false, "/abs": false, ".hidden": false,
		"a/.git/config": false, `a\b`: false, "a//b": false, "a/": false, "a\x00b": false,
	}
	for p, want := range tests {
		if got := CleanPath(p); got != want {
			t.Errorf("CleanPath(%q) = %v; want %v", p, got, want)
		}
	}
}

func FuzzReadManifest(f *testing.F) {
	key, _ := GenerateKey(f.TempDir())
	m := &Manifest{Client: "acme", Files: []File{{Path: "index.html", Size: 3, SHA256: strings.Repeat("a", 64)}}}
	data, _, _ := Sign(m, key)
	f.Add(data)
	f.Add([]byte(`{"version":1,"client":"x","key_id":"k","files":[{"path":"../x","size":1,"sha256":"00"}]}`))
	f.Add([]byte(`{}`))
	keys := NewKeySet(key.Key.Public().(ed25519.PublicKey))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, ManifestName), data, 0o644)
		// A valid signature over the fuzzed bytes: parsing, not the signature, is under test.
		s := ed25519.Sign(key.Key, data)
		os.WriteFile(filepath.Join(dir, SignatureName), []byte(encodeSig(s)), 0o644)
		fsys, closeFn, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		m, err := ReadManifest(fsys, keys)
		if err != nil {
			return
		}
		for _, fl := range m.Files {
			if !CleanPath(fl.Path) {
				t.Fatalf("ReadManifest accepted the path %q", fl.Path)
			}
		}
	})
}

func encodeSig(s []byte) string { return base64.StdEncoding.EncodeToString(s) }

func TestDirectory(t *testing.T) {
	keyDir := t.TempDir()
	key, _ := GenerateKey(keyDir)
	keys, _ := LoadKeySet(keyDir)
	d := &Directory{Site: DirSite{Name: "Greenleaf"}, Clients: []DirClient{
		{ID: "acme", Name: "Acme", Contacts: []DirContact{{Name: "A", Email: "a@acme.example"}}, Bundle: "k1"},
		{ID: "zed", Name: "Zed\nCo", Bundle: "k2"},
	}}
	dir := t.TempDir()
	if err := writeDirectory(dir, d, key); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDirectory(dir, keys)
	if err != nil || len(got.Clients) != 2 || got.Clients[1].Name != "Zed\nCo" || got.Site.Name != "Greenleaf" {
		t.Fatalf("ReadDirectory = %+v, %v", got, err)
	}
	_, lines, _ := ReadDirectoryParts(dir, keys)
	for i, want := range []string{"acme", "zed"} {
		if id, ok := EntryID(lines[i]); !ok || id != want {
			t.Errorf("EntryID(line %d) = %q, %v; want %q", i, id, ok, want)
		}
	}
	root, err := ReadDirRoot(dir, keys)
	if err != nil || root.Log != "directory.1.log" || root.Lines != 2 || root.Clients != 2 {
		t.Fatalf("ReadDirRoot = %+v, %v", root, err)
	}
	// Any change to an entry, or to the root, is refused.
	logFile := filepath.Join(dir, root.Log)
	logData, _ := os.ReadFile(logFile)
	os.WriteFile(logFile, bytes.Replace(logData, []byte("a@acme.example"), []byte("e@evil.example"), 1), 0o600)
	if _, err := ReadDirectory(dir, keys); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered entry: %v; want ErrSignature", err)
	}
	os.WriteFile(logFile, logData, 0o600)
	rootFile := filepath.Join(dir, DirectoryName)
	rootData, _ := os.ReadFile(rootFile)
	os.WriteFile(rootFile, bytes.Replace(rootData, []byte("Greenleaf"), []byte("Evilleaf!"), 1), 0o600)
	if _, err := ReadDirectory(dir, keys); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered root: %v; want ErrSignature", err)
	}
	os.WriteFile(rootFile, rootData, 0o600)
	// A second build writes a new log; the first one's root still reads.
	if err := writeDirectory(dir, d, key); err != nil {
		t.Fatal(err)
	}
	if r2, err := ReadDirRoot(dir, keys); err != nil || r2.Log != "directory.2.log" {
		t.Errorf("second WriteDirectory: root %+v, %v; want directory.2.log", r2, err)
	}
}

// TestDirectoryAppend changes one client the way an incremental build
// does, and reads the change as the edge does: only the appended entry.
func TestDirectoryAppend(t *testing.T) {
	keyDir := t.TempDir()
	key, _ := GenerateKey(keyDir)
	keys, _ := LoadKeySet(keyDir)
	dir := t.TempDir()
	entry := func(id, email string) json.RawMessage {
		b, _ := json.Marshal(DirClient{ID: id, Name: id, Contacts: []DirContact{{Email: email}}})
		return b
	}
	site := DirSite{Name: "Greenleaf"}
	root, rootFile, log, err := EncodeDirectory(site, []json.RawMessage{entry("acme", "a@acme.example"), entry("zed", "z@zed.example")}, key, 1)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, root.Log), log, 0o600)
	os.WriteFile(filepath.Join(dir, DirectoryName), rootFile, 0o600)
	first, err := ReadDirRoot(dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	next, nextFile, tail, err := first.Append(site, []json.RawMessage{entry("acme", "new@acme.example")}, key)
	if err != nil {
		t.Fatal(err)
	}
	if first.Crowded(1) {
		t.Errorf("Crowded(1) with 2 lines of 2 clients = true")
	}
	logFile := filepath.Join(dir, root.Log)
	write := func(data []byte) {
		f, err := os.OpenFile(logFile, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(data, first.Size)
		f.Close()
	}
	write(tail)
	// Before the root is replaced, a reader sees the old directory whole.
	if lines, err := first.Entries(dir); err != nil || len(lines) != 2 || !bytes.Contains(lines[0], []byte("a@acme.example")) {
		t.Fatalf("old root after the append: %q, %v", lines, err)
	}
	os.WriteFile(filepath.Join(dir, DirectoryName), nextFile, 0o600)
	got, err := ReadDirRoot(dir, keys)
	if err != nil || got.Size != next.Size || got.Lines != 3 {
		t.Fatalf("ReadDirRoot after Append = %+v, %v", got, err)
	}
	changed, ok, err := got.Since(dir, first)
	if err != nil || !ok || len(changed) != 1 || !bytes.Contains(changed[0], []byte("new@acme.example")) {
		t.Fatalf("Since = %q, %v, %v; want acme's new entry", changed, ok, err)
	}
	all, err := got.Entries(dir)
	if err != nil || len(all) != 2 || !bytes.Contains(all[0], []byte("new@acme.example")) || !bytes.Contains(all[1], []byte("z@zed.example")) {
		t.Fatalf("Entries = %q, %v", all, err)
	}
	// A tampered appended entry is refused, by a reader going on from the
	// first root and by one reading everything.
	write(bytes.Replace(tail, []byte("new@acme.example"), []byte("new@evil.example"), 1))
	if _, _, err := got.Since(dir, first); !errors.Is(err, ErrSignature) {
		t.Errorf("Since with a tampered entry: %v; want ErrSignature", err)
	}
	if _, err := got.Entries(dir); !errors.Is(err, ErrSignature) {
		t.Errorf("Entries with a tampered entry: %v; want ErrSignature", err)
	}
	if _, err := got.Latest(dir); !errors.Is(err, ErrSignature) {
		t.Errorf("Latest with a tampered entry: %v; want ErrSignature", err)
	}
	// A log cut short is refused; bytes past the root's size are ignored.
	os.Truncate(logFile, got.Size-1)
	if _, err := got.Entries(dir); err == nil {
		t.Errorf("Entries of a log cut short: no error")
	}
	if _, err := got.Latest(dir); err == nil {
		t.Errorf("Latest of a log cut short: no error")
	}
	write(append(tail, []byte(`{"id":"zed","name":"half`)...))
	if _, err := got.Entries(dir); err != nil {
		t.Errorf("Entries with bytes past the root's size: %v", err)
	}
	if latest, err := got.Latest(dir); err != nil || len(latest) != 2 || !strings.Contains(latest["acme"], "new@acme.example") {
		t.Errorf("Latest with bytes past the root's size = %q, %v", latest, err)
	}
	// A root of another log is not a later root of this one.
	other := *got
	other.Log = "directory.2.log"
	if _, ok, err := other.Since(dir, first); ok || err != nil {
		t.Errorf("Since across logs = %v, %v; want not ok", ok, err)
	}
}

func TestDirectoryLogNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"directory.1.log", true}, {"directory.42.log", true},
		{"directory.0.log", false}, {"directory.01.log", false}, {"directory..log", false},
		{"../directory.1.log", false}, {"directory.1.log/x", false}, {"directory.-1.log", false}, {"state.gob", false},
	} {
		if got := IsDirectoryLog(tc.name); got != tc.ok {
			t.Errorf("IsDirectoryLog(%q) = %v; want %v", tc.name, got, tc.ok)
		}
	}
}

// FuzzParseDirRoot: whatever a root file holds, it is refused or it is
// signed, and it never names a log outside its folder.
func FuzzParseDirRoot(f *testing.F) {
	keyDir := f.TempDir()
	key, _ := GenerateKey(keyDir)
	keys, _ := LoadKeySet(keyDir)
	_, good, _, _ := EncodeDirectory(DirSite{Name: "x"}, []json.RawMessage{json.RawMessage(`{"id":"a"}`)}, key, 1)
	f.Add(good)
	f.Add([]byte("garbage\n{}\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseDirRoot(data, keys)
		if err != nil {
			return
		}
		_, body, _ := bytes.Cut(data, []byte("\n"))
		_, goodBody, _ := bytes.Cut(good, []byte("\n"))
		if !bytes.Equal(body, goodBody) {
			t.Fatalf("ParseDirRoot accepted a root that was not signed: %q", data)
		}
		if !IsDirectoryLog(r.Log) {
			t.Fatalf("ParseDirRoot accepted the log name %q", r.Log)
		}
	})
}

// FuzzDirEntries: a log's bytes are split into entries or refused.
func FuzzDirEntries(f *testing.F) {
	f.Add([]byte("{\"id\":\"a\"}\n{\"id\":\"b\"}\n"))
	f.Add([]byte("{\"id\":\"\\\"}\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, ids, err := splitEntries(data)
		if err != nil {
			return
		}
		for i, l := range lines {
			if id, ok := EntryID(l); !ok || id != ids[i] || id == "" {
				t.Fatalf("splitEntries gave line %q with id %q", l, ids[i])
			}
		}
	})
}

// TestOldDirectory: a directory an older hub wrote (format 1: a signature
// line, then every entry) is refused saying what to do, not as damage.
func TestOldDirectory(t *testing.T) {
	keys := &KeySet{}
	old := []byte("c2lnbmF0dXJl\n{\"version\":1,\"key_id\":\"k\",\"site\":{}}\n{\"id\":\"acme\"}\n")
	_, err := ParseDirRoot(old, keys)
	if !errors.Is(err, ErrOldDirectory) || !strings.Contains(err.Error(), "run hub build with this hub once") {
		t.Errorf("ParseDirRoot(format 1) = %v; want ErrOldDirectory saying to run hub build", err)
	}
	_, err = ParseDirRoot([]byte("sig\n{\"version\":2}\nextra\n"), keys)
	if err == nil || errors.Is(err, ErrOldDirectory) {
		t.Errorf("ParseDirRoot(a root with a line too many) = %v; want it malformed", err)
	}
}

// writeDirectory writes a new directory into a generation folder as a
// build does: the log, then the root, each atomically.
func writeDirectory(genDir string, d *Directory, key *PrivateKey) error {
	clients := make([]json.RawMessage, len(d.Clients))
	for i := range d.Clients {
		b, err := json.Marshal(&d.Clients[i])
		if err != nil {
			return err
		}
		clients[i] = b
	}
	root, rootFile, log, err := EncodeDirectory(d.Site, clients, key, NextDirLog(genDir))
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(genDir, root.Log), log, 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(genDir, DirectoryName), rootFile, 0o600)
}
