// Package bundle is the format of a client's bundle, shared by the
// generator (which writes bundles) and the edge (which serves them): the
// manifest that lists every file with its size and SHA-256, its Ed25519
// signature, and the keys that sign it.
//
// A bundle is a folder. Beside its files it holds manifest.json (the
// manifest, as the exact bytes that were signed) and manifest.sig (the
// base64 Ed25519 signature of those bytes). Neither is listed in the
// manifest itself.
package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// Names of the manifest and its signature inside a bundle.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// FormatVersion is the manifest format version this package reads and writes.
const FormatVersion = 1

// Manifest describes a bundle.
type Manifest struct {
	Version int    `json:"version"`
	Client  string `json:"client"`
	KeyID   string `json:"key_id"`
	Inputs  string `json:"inputs"` // hash of everything the bundle was built from
	Files   []File `json:"files"`  // sorted by Path
}

// File is one file of a bundle.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the bundle
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// ETag is the HTTP entity tag of the file: a strong validator from its hash.
func (f File) ETag() string { return `"` + f.SHA256[:32] + `"` }

// Lookup finds a file by path.
func (m *Manifest) Lookup(p string) (File, bool) {
	i, ok := slices.BinarySearchFunc(m.Files, p, func(f File, p string) int { return strings.Compare(f.Path, p) })
	if !ok {
		return File{}, false
	}
	return m.Files[i], true
}

// BlobName is the name of f's bytes in a content-addressed store: its
// SHA-256, then its extension, with .gz/.br after the original's for a
// sidecar (index.html.br → <sha>.html.br), so that the object's type and
// encoding follow from its name.
func (m *Manifest) BlobName(f File) string {
	base, enc := m.SplitSidecar(f.Path)
	return f.SHA256 + strings.ToLower(path.Ext(base)) + enc
}

// SplitSidecar returns the file a sidecar compresses and its encoding's
// extension (".gz", ".br"), or p and "" for a file that is not a sidecar
// (a .gz whose original is not in the manifest is a file of its own).
func (m *Manifest) SplitSidecar(p string) (string, string) {
	for _, ext := range []string{".gz", ".br"} {
		if base, ok := strings.CutSuffix(p, ext); ok {
			if _, listed := m.Lookup(base); listed {
				return base, ext
			}
		}
	}
	return p, ""
}

// Sign encodes m and signs it with key, returning the manifest's bytes and
// the signature file's bytes.
func Sign(m *Manifest, key *PrivateKey) (manifest, sig []byte, err error) {
	m.Version = FormatVersion
	m.KeyID = key.ID
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	manifest, err = json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, nil, err
	}
	manifest = append(manifest, '\n')
	s := ed25519.Sign(key.Key, manifest)
	return manifest, []byte(base64.StdEncoding.EncodeToString(s) + "\n"), nil
}

// Error is a bundle that failed verification.
type Error struct {
	Bundle string
	Err    error
}

func (e *Error) Error() string { return e.Bundle + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrSignature means the manifest's signature does not match any trusted key.
var ErrSignature = errors.New("manifest signature is not valid")

// ReadManifest reads and authenticates a bundle's manifest (but not its
// files): the signature must verify with the trusted key it names.
func ReadManifest(fsys fs.FS, keys *KeySet) (*Manifest, error) {
	data, err := fs.ReadFile(fsys, ManifestName)
	if err != nil {
		return nil, err
	}
	sigText, err := fs.ReadFile(fsys, SignatureName)
	if err != nil {
		return nil, err
	}
	return ParseManifest(data, sigText, keys)
}

// ParseManifest authenticates a manifest's exact bytes (data) with its
// signature file's bytes (sigText) and decodes it.
func ParseManifest(data, sigText []byte, keys *KeySet) (*Manifest, error) {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigText)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%s is malformed", SignatureName)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	pub, ok := keys.Public(m.KeyID)
	if !ok {
		return nil, fmt.Errorf("manifest is signed with key %q, which is not trusted", m.KeyID)
	}
	if !ed25519.Verify(pub, data, sig) {
		return nil, ErrSignature
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("manifest version %d; this hub reads version %d", m.Version, FormatVersion)
	}
	if !slices.IsSortedFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) }) {
		return nil, errors.New("manifest files are not sorted")
	}
	for _, f := range m.Files {
		if !CleanPath(f.Path) || f.Path == ManifestName || f.Path == SignatureName || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("manifest lists an invalid entry %q", f.Path)
		}
	}
	return &m, nil
}

// Verify checks a whole bundle (or, for the manifest of a generation's
// public files, whose Client is "", everything but the c/ folder): the manifest's signature, then every file's
// size and hash, and that no file is missing or unlisted. It returns every
// mismatch it finds, joined.
func Verify(fsys fs.FS, keys *KeySet) (*Manifest, error) {
	m, err := ReadManifest(fsys, keys)
	if err != nil {
		return nil, err
	}
	var errs []error
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
		size, sum, err := hashFile(fsys, f.Path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", f.Path, err))
		case size != f.Size:
			errs = append(errs, fmt.Errorf("%s: size %d, manifest says %d", f.Path, size, f.Size))
		case sum != f.SHA256:
			errs = append(errs, fmt.Errorf("%s: content does not match its SHA-256 in the manifest", f.Path))
		}
	}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "c" && m.Client == "" {
			return fs.SkipDir // the site's public manifest: bundles are verified on their own
		}
		if d.IsDir() || p == ManifestName || p == SignatureName {
			return nil
		}
		if !d.Type().IsRegular() {
			errs = append(errs, fmt.Errorf("%s: not a regular file", p))
		} else if !listed[p] {
			errs = append(errs, fmt.Errorf("%s: not listed in the manifest", p))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return m, errors.Join(errs...)
}

func hashFile(fsys fs.FS, p string) (int64, string, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Sum returns the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// CleanPath reports whether p is a path a bundle may contain: slash
// separated, relative, no dot segments, no dotfiles, no backslashes.
func CleanPath(p string) bool {
	if !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return path.Clean(p) == p
}

// OpenDir is os.DirFS restricted to dir with os.Root semantics: nothing
// outside dir is reachable, even through symbolic links.
func OpenDir(dir string) (fs.FS, func() error, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return r.FS(), r.Close, nil
}
