package edge

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hubhq/hub/generator/events"
)

// Client uploads to portals: POST /c/{client}/portals/{portal}/uploads
// from a signed-in contact (never a delegate: Server.mutating), to a
// portal whose front matter says uploads: true (the build's directory
// lists them). The file is stored like a request's photos (withFiles:
// checked, counted in the client's quota, written to a temporary folder
// and renamed before the commit), the upload recorded with the form's
// nonce, and the client rebuilt: the portal page lists it under "Your
// uploads", a file of the client's bundle like a request's photos.

// PortalUploadStore keeps the files clients add to portals. It is part of Store.
type PortalUploadStore interface {
	// RecordUpload records an upload (its file already stored) and queues
	// the client's rebuild, in one durable write; a nonce recorded before
	// makes it a duplicate (true) that changes nothing.
	RecordUpload(ctx context.Context, clientID, nonce string, u events.Upload) (dup bool, err error)
	// Uploads lists uploads, newest first: one client's, or every
	// client's when clientID is "" (staff's listing; the upload sweep).
	Uploads(ctx context.Context, clientID string, limit int) ([]UploadRecord, error)
}

// UploadRecord is an upload and its client.
type UploadRecord struct {
	events.Upload
	ClientID string
}

// Limits of the upload form: one file of up to maxUploadSize, and the
// form's other fields.
const (
	maxUploadSize = 25 << 20
	maxUploadBody = maxUploadSize + 64<<10
)

// Office documents are zip containers; they are told apart by their
// extension and checked, once read whole, for the part that makes them one.
var officeTypes = map[string]struct{ typ, part string }{
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "word/"},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"},
	".pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "ppt/"},
}

// uploadTypes are the files a portal takes, by sniffed type, with the
// extension each is stored with.
var uploadTypes = map[string]string{
	"application/pdf": ".pdf",
	"image/jpeg":      ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/heic": ".heic",
	"text/plain": ".txt", "text/csv": ".csv",
	officeTypes[".docx"].typ: ".docx", officeTypes[".xlsx"].typ: ".xlsx", officeTypes[".pptx"].typ: ".pptx",
}

// uploadFiles are the documents a portal takes.
var uploadFiles = fileKind{noun: "file", max: maxUploadSize, sniff: sniffUpload,
	ext:   func(typ string) string { return uploadTypes[typ] },
	taken: "is not a kind of file we can take: upload PDF, JPEG, PNG, GIF, WebP or HEIC pictures, plain text or CSV, or Word, Excel or PowerPoint documents (.docx, .xlsx, .pptx)."}

// sniffUpload says what a portal upload is from its bytes (and, for text
// and Office documents, its name); "" for a file not taken.
func sniffUpload(name string, b []byte, whole bool) string {
	if t := sniffPhoto(b); t != "" {
		return t
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch t := http.DetectContentType(b); t {
	case "application/pdf", "image/gif":
		return t
	case "text/plain; charset=utf-8":
		if whole && (!utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0) {
			return ""
		}
		if ext == ".csv" {
			return "text/csv"
		}
		return "text/plain"
	case "application/zip":
		o, ok := officeTypes[ext]
		if !ok {
			return ""
		}
		if whole && !zipHas(b, "[Content_Types].xml", o.part) {
			return ""
		}
		return o.typ
	}
	return ""
}

// zipHas tells whether b is a zip archive holding the file name and a file under folder.
func zipHas(b []byte, name, folder string) bool {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return false
	}
	var hasName, hasFolder bool
	for _, f := range zr.File {
		hasName = hasName || f.Name == name
		hasFolder = hasFolder || strings.HasPrefix(f.Name, folder)
	}
	return hasName && hasFolder
}

// newUploadID is an upload's id: "U-" and 16 random characters.
func newUploadID() string {
	return "U-" + strings.ToUpper(rand.Text()[:16])
}

// portalTakesUploads tells whether client's portal slug takes uploads in the build served.
func (s *Server) portalTakesUploads(client, slug string) bool {
	c, _ := s.build.Load().Client(client)
	return c != nil && slices.Contains(c.Uploads, slug)
}

func (s *Server) handlePortalUpload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := SessionFrom(ctx)
	slug := r.PathValue("portal")
	if c.Client != r.PathValue("client") || !s.portalTakesUploads(c.Client, slug) {
		s.errorPage(w, r, Errorf(ENotFound, "This page does not exist."))
		return
	}
	if !s.parseFilesBody(w, r, maxUploadBody, 1, uploadFiles) {
		return
	}
	fhs, err := formFiles(r, "file", 1, uploadFiles)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if len(fhs) == 0 {
		s.errorPage(w, r, Errorf(EInvalid, "Please choose a file to upload."))
		return
	}
	if s.cfg.Uploads == "" {
		s.errorPage(w, r, Errorf(EUnavailable, "Files cannot be uploaded right now; please try again later, or email them to us."))
		return
	}
	u := events.Upload{ID: newUploadID(), Portal: slug, Email: strings.ToLower(c.Subject), At: s.now()}
	_, err = s.withFiles(c.Client, u.ID, uploadFiles, fhs, func(ps []events.Photo) (bool, error) {
		u.File = ps[0]
		// Without a script's nonce, the same file sent again to the same
		// portal is the same form sent twice.
		nonce := formNonce(r, "upload", c.Client, u.Email, slug, u.File.Name, u.File.SHA)
		return s.store.RecordUpload(ctx, c.Client, nonce, u)
	})
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if err := s.rebuildWithin(ctx, c.Client); err != nil {
		s.log.Error("rebuilding after an upload", "client", c.Client, "err", err)
	}
	http.Redirect(w, r, "/c/"+c.Client+"/portals/"+slug+"/#uploads", http.StatusSeeOther)
}
