package publish

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hubhq/hub/generator/bundle"
)

// signed is a manifest with the exact bytes that were signed.
type signed struct {
	m         *bundle.Manifest
	json, sig []byte
}

func (s signed) sum() string { return bundle.Sum(s.json) }

// localBundle is one client's bundle in a local build.
type localBundle struct {
	client, key, dir string
	signed
}

// localSite is the generation a local output points to.
type localSite struct {
	generation string
	site       string // the generation's site folder (public files)
	public     signed
	bundles    []localBundle // sorted by client
}

// readLocal reads the generation that out points to, with every manifest
// authenticated against keys. Files are read later, when uploaded.
func readLocal(out string, keys *bundle.KeySet) (*localSite, error) {
	site, err := filepath.EvalSymlinks(filepath.Clean(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run hub build first)", out, err)
	}
	ls := &localSite{generation: filepath.Base(filepath.Dir(site)), site: site}
	if ls.public, err = readSigned(site, keys, ""); err != nil {
		return nil, fmt.Errorf("%s: public files: %w", out, err)
	}
	entries, err := os.ReadDir(filepath.Join(site, "c"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		dir, err := filepath.EvalSymlinks(filepath.Join(site, "c", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%s: c/%s: %w", out, e.Name(), err)
		}
		s, err := readSigned(dir, keys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s: c/%s: %w", out, e.Name(), err)
		}
		ls.bundles = append(ls.bundles, localBundle{client: e.Name(), key: filepath.Base(dir), dir: dir, signed: s})
	}
	sort.Slice(ls.bundles, func(i, j int) bool { return ls.bundles[i].client < ls.bundles[j].client })
	return ls, nil
}

func readSigned(dir string, keys *bundle.KeySet, client string) (signed, error) {
	data, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	if err != nil {
		return signed{}, err
	}
	sig, err := os.ReadFile(filepath.Join(dir, bundle.SignatureName))
	if err != nil {
		return signed{}, err
	}
	return parseSigned(data, sig, keys, client)
}

func parseSigned(data, sig []byte, keys *bundle.KeySet, client string) (signed, error) {
	m, err := bundle.ParseManifest(data, sig, keys)
	if err != nil {
		return signed{}, err
	}
	if m.Client != client {
		return signed{}, fmt.Errorf("manifest is for client %q", m.Client)
	}
	return signed{m: m, json: data, sig: sig}, nil
}
