package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubhq/hub/generator/bundle"
	"github.com/hubhq/hub/generator/events"
)

// A work request's photos are written under a temporary folder
// (UPLOADS/<client>/.<id>.tmp/), each file synced, the folder synced,
// then renamed to UPLOADS/<client>/<id>/ and the parent synced, all
// before the request is committed; if the commit fails or the request is
// a duplicate, the folder is removed. So a request that is acknowledged
// has its photos on disk (nothing acknowledged is lost), and the only
// thing a crash can leave is a temporary folder or a folder no committed
// request names: the edge removes both when it starts (nothing orphaned).
// Renaming after the commit instead would leave a committed request whose
// photos are missing if the edge died between the two steps, and a
// roll-forward to repair at start; renaming before keeps recovery to
// deleting what nobody names.

// DefaultUploadQuota is each client's allowance of stored photos.
const DefaultUploadQuota = 200 << 20

// FileOps are the file operations uploads are stored with; tests wrap
// them to make a write, a sync or a rename fail.
type FileOps interface {
	MkdirAll(dir string) error
	// WriteFile creates name (which must not exist) and writes b, without syncing.
	WriteFile(name string, b []byte) error
	// SyncFile flushes a written file to disk.
	SyncFile(name string) error
	Rename(from, to string) error
	// SyncDir flushes a folder's entries (a rename) to disk.
	SyncDir(dir string) error
	RemoveAll(path string) error
}

// OSFiles are the FileOps of the operating system.
type OSFiles struct{}

func (OSFiles) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }
func (OSFiles) WriteFile(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
func (OSFiles) SyncFile(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
func (OSFiles) Rename(from, to string) error { return os.Rename(from, to) }
func (OSFiles) SyncDir(dir string) error     { return bundle.SyncDir(dir) }
func (OSFiles) RemoveAll(path string) error  { return os.RemoveAll(path) }

// fileKind is what a form's files may be: photos (of requests and
// messages) or documents (portal uploads, portaluploads.go).
type fileKind struct {
	noun string // "photo", "file"
	max  int64  // the largest one, in bytes
	// sniff says what type a file is from its first bytes (whole false)
	// or all of them (whole true); "" for one not taken.
	sniff func(name string, b []byte, whole bool) string
	ext   func(typ string) string // the extension a file of typ is stored with
	taken string                  // what to attach instead, for the refusal
}

// photoFiles are the pictures a request or a message may carry.
var photoFiles = fileKind{noun: "photo", max: maxPhotoSize,
	sniff: func(_ string, b []byte, _ bool) string { return sniffPhoto(b) },
	ext:   func(typ string) string { return photoTypes[typ] },
	taken: "is not a photo we can take: attach JPEG, PNG, WebP or HEIC pictures."}

// readFile reads one uploaded file, which formFiles checked (checkFile),
// and checks the whole of it again.
func readFile(fh *multipart.FileHeader, name string, k fileKind) ([]byte, string, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, "", fmt.Errorf("reading %s %q: %w", k.noun, name, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, k.max+1))
	f.Close()
	if err != nil {
		return nil, "", fmt.Errorf("reading %s %q: %w", k.noun, name, err)
	}
	typ := k.sniff(name, b, true)
	if int64(len(b)) > k.max || typ == "" {
		return nil, "", Errorf(EInvalid, "%q changed while it was read, or %s; please send it again.", name, k.taken)
	}
	return b, typ, nil
}

// checkFile checks an uploaded file's size and, from its first bytes, its type.
func checkFile(fh *multipart.FileHeader, name string, k fileKind) error {
	if fh.Size > k.max {
		return Errorf(EInvalid, "%s %q is larger than %d MB; please attach a smaller one.", strings.ToUpper(k.noun[:1])+k.noun[1:], name, k.max>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("reading %s %q: %w", k.noun, name, err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s %q: %w", k.noun, name, err)
	}
	if k.sniff(name, head[:n], false) == "" {
		return Errorf(EInvalid, "%q %s", name, k.taken)
	}
	return nil
}

// uploadUsage is what a client's stored files (photos, uploads) take, in bytes.
func uploadUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// checkQuota refuses files that would take a client past its quota.
func (s *Server) checkQuota(clientID string, fhs []*multipart.FileHeader, k fileKind) error {
	if s.cfg.UploadQuota < 0 {
		return nil
	}
	used, err := uploadUsage(filepath.Join(s.cfg.Uploads, clientID))
	if err != nil {
		return fmt.Errorf("measuring stored files: %w", err)
	}
	var add int64
	for _, fh := range fhs {
		add += fh.Size
	}
	if used+add > s.cfg.UploadQuota {
		if k.noun != photoFiles.noun {
			return Errorf(ETooLarge, "Your hub already holds %s of files, and this would take it past the limit of %s per client. Please email it to us instead, or ask us to clear old uploads.",
				megabytes(used), megabytes(s.cfg.UploadQuota))
		}
		return Errorf(ETooLarge, "Your hub already holds %s of photos, and these would take it past the limit of %s per client. Please send the request without photos (describe what we should look at) and email or show us the photos instead, or ask us to clear old requests' photos.",
			megabytes(used), megabytes(s.cfg.UploadQuota))
	}
	return nil
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// savePhotos checks each file's type and size (k) and stores them durably in
// UPLOADS/<client>/<id>/ (see above). On any error nothing is left.
func (s *Server) savePhotos(clientID, reqID string, fhs []*multipart.FileHeader, k fileKind) ([]events.Photo, string, error) {
	as := make([]Attachment, len(fhs))
	for i, fh := range fhs {
		b, _, err := readFile(fh, cleanFileName(fh.Filename, i), k)
		if err != nil {
			return nil, "", err
		}
		as[i] = Attachment{Name: fh.Filename, Data: b}
	}
	out, final, err := FileStore{Dir: s.cfg.Uploads, Ops: s.cfg.Files}.save(clientID, reqID, as, k)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("storing the %ss of %s: %w", k.noun, reqID, err)
	}
	return out, final, nil
}

// removeUploads deletes photo folders of a request that was not recorded.
func (s *Server) removeUploads(dirs ...string) {
	for _, d := range dirs {
		if err := s.cfg.Files.RemoveAll(d); err != nil {
			s.log.Error("removing the photos of a request that was not recorded; hub edge removes them at its next start", "dir", d, "err", err)
		}
	}
}

// sweepUploads removes what a crash can leave under the uploads folder:
// temporary folders, and request or message folders that nothing committed names,
// once they are older than uploadSweepAge (the file clock, not the
// injected one): another edge sharing the folder may be between storing a
// request's photos and committing the request.
const uploadSweepAge = time.Hour

func (s *Server) sweepUploads(ctx context.Context) error {
	if s.cfg.Uploads == "" {
		return nil
	}
	clients, err := os.ReadDir(s.cfg.Uploads)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("uploads folder: %w", err)
	}
	reqs, err := s.store.Requests(ctx, "", 1<<30)
	if err != nil {
		return fmt.Errorf("listing requests to clean up uploads: %w", err)
	}
	known := map[string]bool{}
	for _, r := range reqs {
		known[r.ClientID+"/"+r.ID] = true
	}
	msgs, err := s.store.Messages(ctx, "", 1<<30)
	if err != nil {
		return fmt.Errorf("listing messages to clean up uploads: %w", err)
	}
	for _, m := range msgs {
		if len(m.Files) > 0 {
			known[m.ClientID+"/"+m.ID] = true
		}
	}
	ups, err := s.store.Uploads(ctx, "", 1<<30)
	if err != nil {
		return fmt.Errorf("listing portal uploads to clean up uploads: %w", err)
	}
	for _, u := range ups {
		known[u.ClientID+"/"+u.ID] = true
	}
	removed := 0
	for _, c := range clients {
		if !c.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.cfg.Uploads, c.Name()))
		if err != nil {
			return fmt.Errorf("uploads folder: %w", err)
		}
		for _, e := range entries {
			if known[c.Name()+"/"+e.Name()] {
				continue
			}
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < uploadSweepAge {
				continue
			}
			if err := s.cfg.Files.RemoveAll(filepath.Join(s.cfg.Uploads, c.Name(), e.Name())); err != nil {
				return fmt.Errorf("removing an orphaned upload: %w", err)
			}
			removed++
		}
	}
	if removed > 0 {
		s.log.Info("removed photos that no recorded request names", "count", removed)
	}
	return nil
}
