package generator

import (
	"os"
	"path/filepath"

	"github.com/hubhq/hub/generator/bundle"
)

// Fault, when set in Options, is asked before every operation of a build on
// its output that has to succeed for the output to be whole and durable;
// an error it returns becomes that operation's error. Tests use it to fail
// a build at each step in turn and check that the output stays whole.
type Fault func(op, path string) error

// The operations a Fault is asked about.
const (
	OpWrite   = "write"  // writing a file, or making a link
	OpSync    = "fsync"  // fsync of a file, or syncfs of the output's filesystem
	OpRename  = "rename" // a rename (how everything is published)
	OpSyncDir = "fsync-dir"
)

// disk makes a build's changes to its output, asking fault first.
type disk struct{ fault Fault }

func (d disk) check(op, p string) error {
	if d.fault == nil {
		return nil
	}
	return d.fault(op, p)
}

func (d disk) writeFile(name string, data []byte, perm os.FileMode) error {
	if err := d.check(OpWrite, name); err != nil {
		return err
	}
	return os.WriteFile(name, data, perm)
}

func (d disk) symlink(target, link string) error {
	if err := d.check(OpWrite, link); err != nil {
		return err
	}
	return os.Symlink(target, link)
}

func (d disk) rename(from, to string) error {
	if err := d.check(OpRename, to); err != nil {
		return err
	}
	return os.Rename(from, to)
}

func (d disk) syncDir(dir string) error {
	if err := d.check(OpSyncDir, dir); err != nil {
		return err
	}
	return bundle.SyncDir(dir)
}

// syncFS flushes everything written under dir's filesystem.
func (d disk) syncFS(dir string) error {
	if err := d.check(OpSync, dir); err != nil {
		return err
	}
	return syncFS(dir)
}

// writeAtomic replaces name with data: a temporary file, fsync, rename,
// fsync of the folder. A reader sees the old content or the new.
func (d disk) writeAtomic(name string, data []byte, perm os.FileMode) error {
	if err := d.check(OpWrite, name); err != nil {
		return err
	}
	if err := d.check(OpSync, name); err != nil {
		return err
	}
	if err := d.check(OpRename, name); err != nil {
		return err
	}
	if err := bundle.WriteFileAtomic(name, data, perm); err != nil {
		return err
	}
	// The rename is done; a failed fsync of the folder still fails the
	// build, which is then not acknowledged.
	return d.check(OpSyncDir, filepath.Dir(name))
}

// writeAt writes data into name at offset off, cutting off whatever was
// past off first (what a build that failed before finishing left there).
// It does not fsync: the syncfs before publishing makes it durable.
func (d disk) writeAt(name string, off int64, data []byte) error {
	if err := d.check(OpWrite, name); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(off); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteAt(data, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// appendSync appends data to name and fsyncs it.
func (d disk) appendSync(name string, data []byte) error {
	if err := d.check(OpWrite, name); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := d.check(OpSync, name); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
