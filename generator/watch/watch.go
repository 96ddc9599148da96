// Package watch reports changes to files below a folder, in batches: a
// burst of saves (an editor writing a temp file and renaming it, git
// checking out many files) becomes one batch once the folder has been quiet
// for the debounce interval. fsnotify watches are not recursive, so every
// folder is watched, and folders that appear later are added as they appear.
package watch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher watches a folder tree.
type Watcher struct {
	root     string
	debounce time.Duration
	w        *fsnotify.Watcher
	// Errors reports problems watching (a folder that could not be added).
	Errors chan error
}

// New watches every folder below root (hidden folders such as .git are skipped).
func New(root string, debounce time.Duration) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{root: root, debounce: debounce, w: fw, Errors: make(chan error, 16)}
	if err := w.addTree(root); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

func (w *Watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && hidden(d.Name()) {
			return filepath.SkipDir
		}
		return w.w.Add(p)
	})
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// ignored are editor and OS droppings that never change content.
func ignored(name string) bool {
	return hidden(name) || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".tmp") || name == "4913"
}

// Run sends batches of changed paths (sorted, without duplicates) to out
// until ctx ends. It closes the watcher when it returns.
func (w *Watcher) Run(ctx context.Context, out chan<- []string) {
	defer w.w.Close()
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if ignored(filepath.Base(ev.Name)) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
					if err := w.addTree(ev.Name); err != nil {
						w.report(err)
					}
				}
			}
			pending[ev.Name] = true
			timer.Reset(w.debounce)
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			w.report(err)
		case <-timer.C:
			batch := make([]string, 0, len(pending))
			for p := range pending {
				batch = append(batch, p)
			}
			slices.Sort(batch)
			clear(pending)
			select {
			case out <- batch:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (w *Watcher) report(err error) {
	select {
	case w.Errors <- err:
	default:
	}
}
