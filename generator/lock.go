package generator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file in OUT.d that builds lock: one build at a time
// writes an output, whichever process runs it (hub build, hub serve, the
// edge's rebuild after a payment).
const lockName = "build.lock"

// lockOutput takes the output's build lock, waiting for a build that holds
// it; waiting, when set, is called once if it has to wait. The lock is an
// advisory flock on OUT.d/build.lock: it is released when the returned
// function is called or the process ends, however it ends.
func lockOutput(ctx context.Context, d Dirs, waiting func()) (unlock func(), err error) {
	if err := os.MkdirAll(d.Data, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(d.Data, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	unlock = func() { f.Close() } // closing the file releases the lock
	err = flock(f, false)
	if err == nil {
		return unlock, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	if waiting != nil {
		waiting()
	}
	got := make(chan error, 1)
	go func() { got <- flock(f, true) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		return unlock, nil
	case <-ctx.Done():
		// The waiting flock cannot be interrupted: release the lock as soon
		// as it is granted.
		go func() { <-got; f.Close() }()
		return nil, ctx.Err()
	}
}
