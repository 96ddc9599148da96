// Package themes holds the default theme, embedded in the hub binary so
// that hub works from any folder. A site overrides any of its files by
// placing a file of the same name in its own themes/ folder.
package themes

import (
	"embed"
	"io/fs"
)

//go:embed default
var files embed.FS

// Default is the default theme's files.
func Default() fs.FS {
	sub, err := fs.Sub(files, "default")
	if err != nil {
		panic(err) // the embedded folder is fixed at compile time
	}
	return sub
}
