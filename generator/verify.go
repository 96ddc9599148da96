package generator

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hubhq/hub/generator/bundle"
)

// VerifyReport is the outcome of verifying a built site.
type VerifyReport struct {
	Generation string
	Bundles    int
	Files      int
	Failures   []error // one per failing bundle (or the public files)
}

// Verify checks the generation that out points to: its public files and
// every client bundle, against their signed manifests and the trusted keys.
func Verify(out string, keys *bundle.KeySet) (*VerifyReport, error) {
	dirs := OutputDirs(out)
	gen, err := filepath.EvalSymlinks(dirs.Out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (run hub build first)", dirs.Out, err)
	}
	rep := &VerifyReport{Generation: filepath.Base(filepath.Dir(gen))}
	check := func(dir, name, wantClient string) {
		fsys, closeFn, err := bundle.OpenDir(dir)
		if err != nil {
			rep.Failures = append(rep.Failures, &bundle.Error{Bundle: name, Err: err})
			return
		}
		defer closeFn()
		m, err := bundle.Verify(fsys, keys)
		if err == nil && m.Client != wantClient {
			err = fmt.Errorf("manifest is for client %q", m.Client)
		}
		if err != nil {
			rep.Failures = append(rep.Failures, &bundle.Error{Bundle: name, Err: err})
			return
		}
		rep.Files += len(m.Files)
	}
	check(gen, "public files", "")
	if _, err := bundle.ReadDirectory(filepath.Dir(gen), keys); err != nil {
		rep.Failures = append(rep.Failures, &bundle.Error{Bundle: "directory", Err: err})
	}
	entries, err := os.ReadDir(filepath.Join(gen, "c"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		dir, err := filepath.EvalSymlinks(filepath.Join(gen, "c", e.Name()))
		if err != nil {
			rep.Failures = append(rep.Failures, &bundle.Error{Bundle: "c/" + e.Name(), Err: err})
			continue
		}
		rep.Bundles++
		check(dir, "c/"+e.Name(), e.Name())
	}
	return rep, nil
}
