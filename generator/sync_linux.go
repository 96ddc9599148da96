package generator

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the filesystem holding dir, so that everything a build
// wrote is durable before the new generation is switched in (one syncfs
// instead of an fsync per file).
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
