//go:build unix

package generator

import (
	"os"

	"golang.org/x/sys/unix"
)

// flock takes an exclusive lock on f; without wait it fails with
// EWOULDBLOCK when another holds it.
func flock(f *os.File, wait bool) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}
