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
// directory.signed, in lines:
//
//	<base64 Ed25519 signature of everything after this line>
//	{"version":1,"key_id":"...","site":{...}}
//	{"id":"client-a",...}        one line per client, sorted by ID
//	{"id":"client-b",...}
//
// One file, so it is replaced (renamed) as a whole; one line per client, so
// a reader can tell which entries changed without decoding the others.
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
	CSS            string `json:"css"`                  // URL of the stylesheet
	Logo           string `json:"logo"`                 // URL of the logo, "" when none
	LogoWidth      int    `json:"logo_width,omitempty"` // the logo's size in CSS pixels, 0 when not known
	LogoHeight     int    `json:"logo_height,omitempty"`
	Icon           string `json:"icon,omitempty"` // URL of the favicon, "" when none
	Hub            bool   `json:"hub"`
	Requests       bool   `json:"requests"`
	Signature      bool   `json:"signature"`
	ChangeRequests bool   `json:"change_requests"`
	Deposits       bool   `json:"deposits"`
	OnlinePayments bool   `json:"online_payments"`
	// Subscriptions, SaveCards and Autopay are site.yaml's switches: may a
	// client start a subscription online, save a card while paying an
	// invoice, have invoices charged to it on their due dates.
	Subscriptions bool   `json:"subscriptions"`
	SaveCards     bool   `json:"save_cards"`
	Autopay       bool   `json:"autopay"`
	Currency      string `json:"currency"`  // ISO 4217
	Locale        string `json:"locale"`    // how amounts are written, e.g. "en-US"
	TimeZone      string `json:"time_zone"` // e.g. "America/Los_Angeles"
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
	// Uploads are the slugs of the client's portals that take files from
	// the client (uploads: true), sorted.
	Uploads []string `json:"uploads,omitempty"`
	Bundle  string   `json:"bundle"` // the key of its bundle: it changes when the bundle does
}

// DirContact is a person who may log in.
type DirContact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// DirDocument is a visible quote, invoice or subscription.
type DirDocument struct {
	Kind   string `json:"kind"` // "quote", "invoice" or "subscription"
	Number string `json:"number"`
	Title  string `json:"title"`
	Path   string `json:"path"`   // inside the bundle, e.g. "quotes/Q-1001/"
	Amount string `json:"amount"` // formatted total (quotes) or balance (invoices)
	Status string `json:"status"`
	// History is the document's history as its page shows it ("Sent Nov
	// 16 · Viewed by Dana Nov 17"), for staff (hub activity); "" when none.
	History string `json:"history,omitempty"`

	// What the edge acts on (paying, approving). Amounts are minor units
	// of Currency: the edge takes amounts from here, never from a form.
	State    string `json:"state,omitempty"`    // awaiting_payment, past_due, paid; awaiting_response, approved, changes_requested, converted
	Currency string `json:"currency,omitempty"` // ISO 4217
	Total    int64  `json:"total,omitempty"`
	// Due is what may be paid online now: an invoice's balance less
	// payments still processing; an approved quote's deposit not yet paid.
	Due int64 `json:"due,omitempty"`
	// Settling is the sum of online payments (processing or paid) this
	// build counted; the edge subtracts payments recorded since.
	Settling int64 `json:"settling,omitempty"`
	MinPart  int64 `json:"min_part,omitempty"` // smallest part payment; 0: only Due in full
	// DueDate is an invoice's due date (YYYY-MM-DD, "" when it has none):
	// autopay charges it on that day.
	DueDate string `json:"due_date,omitempty"`
	// Quotes: the version shown (changes whenever staff edit it), the
	// deposit asked on approval with the default options, the optional
	// lines (indexes) a client may choose, whether it has terms to accept.
	Version  string `json:"version,omitempty"`
	Deposit  int64  `json:"deposit,omitempty"`
	Optional []int  `json:"optional,omitempty"`
	// OptionNames are the names of the lines in Optional, in that order
	// (for the approval emails).
	OptionNames []string `json:"option_names,omitempty"`
	Terms       bool     `json:"terms,omitempty"`
	Expired     bool     `json:"expired,omitempty"`
	// Subscriptions (kind "subscription"; State is active, paused, cancelled
	// or ended, Total each period's amount): the interval and its count,
	// the first charge's day (YYYY-MM-DD), and where its online billing
	// stands in the facts this build folded ("" not started; else an
	// events.Billing* state).
	Interval string `json:"interval,omitempty"`
	Every    int    `json:"every,omitempty"`
	Start    string `json:"start,omitempty"`
	Billing  string `json:"billing,omitempty"`
	// Periods is how many periods it has in all (its periods, or those
	// up to its end date); 0 when it runs until cancelled.
	Periods int `json:"periods,omitempty"`
}

// SignDirectory encodes and signs a directory into the file's bytes.
func SignDirectory(d *Directory, key *PrivateKey) ([]byte, error) {
	clients := make([]json.RawMessage, len(d.Clients))
	for i := range d.Clients {
		b, err := json.Marshal(&d.Clients[i])
		if err != nil {
			return nil, err
		}
		clients[i] = b
	}
	return SignDirectoryRaw(d.Site, clients, key)
}

type dirHeader struct {
	Version int     `json:"version"`
	KeyID   string  `json:"key_id"`
	Site    DirSite `json:"site"`
}

// SignDirectoryRaw signs a directory assembled from the site entry and each
// client's JSON (as json.Marshal of a DirClient gives it, on one line), so a
// rebuild that changed one client does not re-encode the others.
func SignDirectoryRaw(site DirSite, clients []json.RawMessage, key *PrivateKey) ([]byte, error) {
	head, err := json.Marshal(dirHeader{Version: FormatVersion, KeyID: key.ID, Site: site})
	if err != nil {
		return nil, err
	}
	n := len(head) + 1
	for _, c := range clients {
		n += len(c) + 1
	}
	data := make([]byte, 0, n)
	data = append(append(data, head...), '\n')
	for _, c := range clients {
		if bytes.IndexByte(c, '\n') >= 0 {
			return nil, fmt.Errorf("directory entry spans lines")
		}
		data = append(append(data, c...), '\n')
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key.Key, data))
	return append([]byte(sig+"\n"), data...), nil
}

// ReadDirectoryParts reads an authenticated directory, leaving each
// client's entry as its raw JSON line, in order.
func ReadDirectoryParts(genDir string, keys *KeySet) (DirSite, [][]byte, error) {
	file, err := os.ReadFile(filepath.Join(genDir, DirectoryName))
	if err != nil {
		return DirSite{}, nil, err
	}
	sigText, data, ok := bytes.Cut(file, []byte("\n"))
	if !ok {
		return DirSite{}, nil, fmt.Errorf("%s is malformed", DirectoryName)
	}
	sig, err := base64.StdEncoding.DecodeString(string(sigText))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return DirSite{}, nil, fmt.Errorf("%s: malformed signature", DirectoryName)
	}
	headLine, rest, _ := bytes.Cut(data, []byte("\n"))
	var h dirHeader
	dec := json.NewDecoder(bytes.NewReader(headLine))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return DirSite{}, nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	pub, ok := keys.Public(h.KeyID)
	if !ok {
		return DirSite{}, nil, fmt.Errorf("%s is signed with key %q, which is not trusted", DirectoryName, h.KeyID)
	}
	if !ed25519.Verify(pub, data, sig) {
		return DirSite{}, nil, fmt.Errorf("%s: %w", DirectoryName, ErrSignature)
	}
	if h.Version != FormatVersion {
		return DirSite{}, nil, fmt.Errorf("%s: version %d; this hub reads version %d", DirectoryName, h.Version, FormatVersion)
	}
	var lines [][]byte
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		lines = append(lines, line)
	}
	return h.Site, lines, nil
}

// EntryID reads the client ID at the start of a directory line
// ({"id":"acme",...}) without decoding the rest.
func EntryID(line []byte) (string, bool) {
	const prefix = `{"id":"`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return "", false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	return string(rest[:end]), true
}

// ReadDirectoryClients reads an authenticated directory, keeping each
// client's entry as raw JSON (by ID), for a build to reuse.
func ReadDirectoryClients(genDir string, keys *KeySet) (map[string]json.RawMessage, error) {
	_, lines, err := ReadDirectoryParts(genDir, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(lines))
	for _, l := range lines {
		id, ok := EntryID(l)
		if !ok {
			return nil, fmt.Errorf("%s: malformed entry", DirectoryName)
		}
		out[id] = l
	}
	return out, nil
}

// ReadDirectory reads and authenticates the directory in a generation folder.
func ReadDirectory(genDir string, keys *KeySet) (*Directory, error) {
	site, lines, err := ReadDirectoryParts(genDir, keys)
	if err != nil {
		return nil, err
	}
	d := &Directory{Version: FormatVersion, Site: site, Clients: make([]DirClient, len(lines))}
	for i, l := range lines {
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d.Clients[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", DirectoryName, err)
		}
	}
	return d, nil
}
