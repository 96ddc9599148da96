package edge

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hubhq/hub/generator/events"
)

// Attachments are files the business adds to a message: hub reply
// -attach, and the parts of an emailed reply that are files. They are
// checked as request photos are (their type from their bytes, their size,
// how many) but may also be documents (the types a portal takes), and are
// stored the same way (FileStore) before the message is committed.

// Attachment is a file given whole.
type Attachment struct {
	Name string // as given (a path's last element, an email part's file name)
	Data []byte
}

// Limits of a message's attachments.
const (
	MaxAttachments    = maxMessagePhotos
	MaxAttachmentSize = maxPhotoSize
)

// attachmentFiles are the files a message from the business may carry.
var attachmentFiles = fileKind{noun: "attachment", max: MaxAttachmentSize, sniff: sniffUpload,
	ext:   func(typ string) string { return uploadTypes[typ] },
	taken: "is not a kind of file we can attach: attach PDF, JPEG, PNG, GIF, WebP or HEIC pictures, plain text or CSV, or Word, Excel or PowerPoint documents (.docx, .xlsx, .pptx)."}

// CheckAttachments checks a message's attachments before anything is
// stored: at most MaxAttachments, none empty or larger than
// MaxAttachmentSize, each of a type taken (from its bytes). The error
// says which file and why.
func CheckAttachments(as []Attachment) error {
	if len(as) > MaxAttachments {
		return Errorf(EInvalid, "%d attachments: attach at most %d to a message.", len(as), MaxAttachments)
	}
	for i, a := range as {
		name := cleanFileName(a.Name, i)
		switch {
		case len(a.Data) == 0:
			return Errorf(EInvalid, "Attachment %q is empty.", name)
		case int64(len(a.Data)) > MaxAttachmentSize:
			return Errorf(EInvalid, "Attachment %q is %s, larger than %d MB; attach a smaller one or share it another way.", name, megabytes(int64(len(a.Data))), MaxAttachmentSize>>20)
		case attachmentFiles.sniff(name, a.Data, true) == "":
			return Errorf(EInvalid, "Attachment %q %s", name, attachmentFiles.taken)
		}
	}
	return nil
}

// FileStore keeps the files of requests, messages and uploads, each fact's
// in Dir/<client>/<id>/ (see uploads.go for how they are made durable).
type FileStore struct {
	Dir string
	Ops FileOps
}

// save stores files (already checked as kind k) durably in
// Dir/<client>/<id>/ and returns them as recorded, with the folder; on
// any error nothing is left.
func (fs FileStore) save(client, id string, as []Attachment, k fileKind) ([]events.Photo, string, error) {
	parent := filepath.Join(fs.Dir, client)
	tmp := filepath.Join(parent, "."+id+".tmp")
	final := filepath.Join(parent, id)
	out, err := fs.write(tmp, final, as, k)
	if err == nil {
		if err = fs.Ops.Rename(tmp, final); err == nil {
			if err = fs.Ops.SyncDir(parent); err == nil {
				err = fs.Ops.SyncDir(fs.Dir) // the client's folder may be new
			}
		}
	}
	if err != nil {
		err = errors.Join(err, fs.Ops.RemoveAll(tmp), fs.Ops.RemoveAll(final))
		return nil, "", err
	}
	return out, final, nil
}

func (fs FileStore) write(tmp, final string, as []Attachment, k fileKind) ([]events.Photo, error) {
	if err := fs.Ops.MkdirAll(tmp); err != nil {
		return nil, err
	}
	var out []events.Photo
	for i, a := range as {
		name := cleanFileName(a.Name, i)
		typ := k.sniff(name, a.Data, true)
		if typ == "" || int64(len(a.Data)) > k.max {
			return nil, Errorf(EInvalid, "%q %s", name, k.taken)
		}
		ext := k.ext(typ)
		base := strings.TrimSuffix(name, filepath.Ext(name))
		file := fmt.Sprintf("%d-%s%s", i+1, base, ext)
		if err := fs.Ops.WriteFile(filepath.Join(tmp, file), a.Data); err != nil {
			return nil, err
		}
		if err := fs.Ops.SyncFile(filepath.Join(tmp, file)); err != nil {
			return nil, err
		}
		out = append(out, events.Photo{Name: base + ext, Type: typ, Size: int64(len(a.Data)), SHA: hashHex(a.Data), Path: filepath.Join(final, file)})
	}
	return out, fs.Ops.SyncDir(tmp)
}
