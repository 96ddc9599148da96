//go:build !linux

package generator

import "github.com/hubhq/hub/generator/bundle"

// syncFS makes the build durable; without syncfs, fsync the folder.
func syncFS(dir string) error { return bundle.SyncDir(dir) }
