package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A keys folder holds Ed25519 key pairs as <id>.key (PKCS #8 PEM, mode
// 0600) and <id>.pub (PKIX PEM), and a file "current" naming the key that
// signs new builds. Older keys stay, so bundles signed before a rotation
// still verify until they are rebuilt. The folder must never be committed:
// the default, .hub/keys, is git-ignored.

// PrivateKey is a signing key and its ID.
type PrivateKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// KeySet is the trusted public keys, by ID.
type KeySet struct {
	keys map[string]ed25519.PublicKey
}

// Public returns the trusted key with the ID.
func (s *KeySet) Public(id string) (ed25519.PublicKey, bool) {
	if s == nil {
		return nil, false
	}
	k, ok := s.keys[id]
	return k, ok
}

// IDs lists the trusted key IDs.
func (s *KeySet) IDs() []string {
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// KeyID is the ID of a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// GenerateKey makes a new key pair in dir and makes it current.
func GenerateKey(dir string) (*PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	id := KeyID(pub)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, id+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, id+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, "current"), []byte(id+"\n"), 0o644); err != nil {
		return nil, err
	}
	return &PrivateKey{ID: id, Key: priv}, nil
}

// ErrNoKey means the keys folder has no current signing key.
var ErrNoKey = errors.New("no signing key")

// LoadSigningKey reads the current key from dir.
func LoadSigningKey(dir string) (*PrivateKey, error) {
	cur, err := os.ReadFile(filepath.Join(dir, "current"))
	if os.IsNotExist(err) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(string(cur))
	data, err := os.ReadFile(filepath.Join(dir, id+".key"))
	if err != nil {
		return nil, fmt.Errorf("current key %q: %w", id, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s.key is not a PEM private key", id)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s.key: %w", id, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s.key is not an Ed25519 key", id)
	}
	if KeyID(priv.Public().(ed25519.PublicKey)) != id {
		return nil, fmt.Errorf("%s.key does not match its name", id)
	}
	return &PrivateKey{ID: id, Key: priv}, nil
}

// LoadKeySet reads every public key in dir.
func LoadKeySet(dir string) (*KeySet, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, err
	}
	s := &KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("%s is not a PEM public key", f)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an Ed25519 key", f)
		}
		s.keys[KeyID(pub)] = pub
	}
	if len(s.keys) == 0 {
		return nil, fmt.Errorf("no public keys (*.pub) in %s", dir)
	}
	return s, nil
}

// NewKeySet makes a key set from public keys (for tests and the edge's configuration).
func NewKeySet(pubs ...ed25519.PublicKey) *KeySet {
	s := &KeySet{keys: map[string]ed25519.PublicKey{}}
	for _, p := range pubs {
		s.keys[KeyID(p)] = p
	}
	return s
}

// WriteFileAtomic replaces name with data so that a reader sees the old
// content or the new, never a mix, and the new content survives a crash
// once it returns: temp file, fsync, rename, fsync of the folder.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir fsyncs a folder so that renames in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
