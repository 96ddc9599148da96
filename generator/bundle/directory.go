package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The directory is the part of a build that only the edge reads: who may
// log in to which client's hub, and the documents that emails link to. It
// lives beside a generation's public files, never inside them, as one file,
// directory.signed: a line with the base64 Ed25519 signature, then the JSON
// that was signed. One file, so it is replaced (renamed) as a whole.
const DirectoryName = "directory.signed"

// Directory is what the edge needs to know about a build.
type Directory struct {
	Version int         `json:"version"`
	KeyID   string      `json:"key_id"`
	Site    DirSite     `json:"site"`
	Clients []DirClient `json:"clients"` // sorted by ID
}

// DirSite is the business and its switches.
type DirSite struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	BaseURL        string `json:"base_url"`
	Color          string `json:"color"`
	CSS            string `json:"css"`  // URL of the stylesheet
	Logo           string `json:"logo"` // URL of the logo, "" when none
	Hub            bool   `json:"hub"`
	Requests       bool   `json:"requests"`
	Signature      bool   `json:"signature"`
	ChangeRequests bool   `json:"change_requests"`
	Deposits       bool   `json:"deposits"`
	OnlinePayments bool   `json:"online_payments"`
	// FrameOrigins are the origins portal embeds load frames from, for the
	// edge's Content-Security-Policy frame-src.
	FrameOrigins []string `json:"frame_origins"`
}

// DirClient is one client: who may log in, and its documents.
type DirClient struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	DisplayName string        `json:"display_name"`
	Language    string        `json:"language,omitempty"`
	Contacts    []DirContact  `json:"contacts"`
	Documents   []DirDocument `json:"documents,omitempty"`
}

// DirContact is a person who may log in.
type DirContact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// DirDocument is a visible quote or invoice.
type DirDocument struct {
	Kind   string `json:"kind"` // "quote" or "invoice"
	Number string `json:"number"`
	Title  string `json:"title"`
	Path   string `json:"path"`   // inside the bundle, e.g. "quotes/Q-1001/"
	Amount string `json:"amount"` // formatted total (quotes) or balance (invoices)
	Status string `json:"status"`
}

// SignDirectory encodes and signs a directory into the file's bytes.
func SignDirectory(d *Directory, key *PrivateKey) ([]byte, error) {
	d.Version = FormatVersion
	d.KeyID = key.ID
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key.Key, data))
	return append([]byte(sig+"\n"), data...), nil
}

// SignDirectoryRaw signs a directory assembled from the site entry and each
// client's JSON (as json.Marshal of a DirClient gives it), so a rebuild that
// changed one client does not re-encode the others.
func SignDirectoryRaw(site DirSite, clients []json.RawMessage, key *PrivateKey) ([]byte, error) {
	siteJSON, err := json.Marshal(site)
	if err != nil {
		return nil, err
	}
	kid, _ := json.Marshal(key.ID)
	n := 100 + len(siteJSON)
	for _, c := range clients {
		n += len(c) + 1
	}
	data := make([]byte, 0, n)
	data = fmt.Appendf(data, `{"version":%d,"key_id":%s,"site":%s,"clients":[`, FormatVersion, kid, siteJSON)
	for i, c := range clients {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, c...)
	}
	data = append(data, "]}\n"...)
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key.Key, data))
	return append([]byte(sig+"\n"), data...), nil
}

// ReadDirectoryClients reads an authenticated directory, keeping each
// client's entry as raw JSON (by ID), for a build to reuse.
func ReadDirectoryClients(genDir string, keys *KeySet) (map[string]json.RawMessage, error) {
	file, err := os.ReadFile(filepath.Join(genDir, DirectoryName))
	if err != nil {
		return nil, err
	}
	sigText, data, ok := bytes.Cut(file, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%s is malformed", DirectoryName)
	}
	sig, err := base64.StdEncoding.DecodeString(string(sigText))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%s: malformed signature", DirectoryName)
	}
	var d struct {
		KeyID   string            `json:"key_id"`
		Clients []json.RawMessage `json:"clients"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	pub, ok := keys.Public(d.KeyID)
	if !ok || !ed25519.Verify(pub, data, sig) {
		return nil, fmt.Errorf("%s: %w", DirectoryName, ErrSignature)
	}
	out := make(map[string]json.RawMessage, len(d.Clients))
	for _, c := range d.Clients {
		var id struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(c, &id); err != nil {
			return nil, err
		}
		out[id.ID] = c
	}
	return out, nil
}

// ReadDirectory reads and authenticates the directory in a generation folder.
func ReadDirectory(genDir string, keys *KeySet) (*Directory, error) {
	file, err := os.ReadFile(filepath.Join(genDir, DirectoryName))
	if err != nil {
		return nil, err
	}
	sigText, data, ok := bytes.Cut(file, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("%s is malformed", DirectoryName)
	}
	sig, err := base64.StdEncoding.DecodeString(string(sigText))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%s: malformed signature", DirectoryName)
	}
	var d Directory
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	pub, ok := keys.Public(d.KeyID)
	if !ok {
		return nil, fmt.Errorf("%s is signed with key %q, which is not trusted", DirectoryName, d.KeyID)
	}
	if !ed25519.Verify(pub, data, sig) {
		return nil, fmt.Errorf("%s: %w", DirectoryName, ErrSignature)
	}
	return &d, nil
}
