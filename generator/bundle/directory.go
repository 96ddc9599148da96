package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
)

// The directory is the part of a build that only the edge reads: who may
// log in to which client's hub, and the documents that emails link to. It
// lives beside a generation's public files, never inside them, as two files:
//
//	directory.signed   the root: a base64 Ed25519 signature line, then one
//	                   JSON line: {"version":2,"key_id","site",
//	                   "log":"directory.1.log","size","sha256","lines",
//	                   "clients","hash_state"}
//	directory.1.log    the entries: one JSON line per client entry
//	                   ({"id":"client-a",...}); a later line for the same
//	                   client replaces the earlier one
//
// The root signs the site entry and the SHA-256 of the log's first size
// bytes; nothing past them belongs to the directory. So changing one client
// appends its new entry to the log and signs a new root of a few hundred
// bytes, instead of re-signing every client's entry; and a reader that has
// checked the log up to one root checks only the bytes appended since when
// the next root comes (the SHA-256 goes on from the state the earlier root
// signed), decoding only the entries that changed. A writer appends past
// the root's size first and then replaces the root with one rename, so a
// reader sees the old directory or the new one. When the log holds more
// than twice as many lines as clients, the writer starts a new log
// (directory.2.log, ...) holding one line per client.
const DirectoryName = "directory.signed"

// DirectoryVersion is the directory format version this package reads and
// writes (1 was one signed file holding every entry).
const DirectoryVersion = 2

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

// DirRoot is a directory's signed root: the site entry, and which bytes of
// which log hold the client entries.
type DirRoot struct {
	Version int     `json:"version"`
	KeyID   string  `json:"key_id"`
	Site    DirSite `json:"site"`
	Log     string  `json:"log"`     // the log's file name, beside the root
	Size    int64   `json:"size"`    // the log's first Size bytes are the entries
	SHA256  string  `json:"sha256"`  // hex SHA-256 of them
	Lines   int     `json:"lines"`   // how many lines they are
	Clients int     `json:"clients"` // how many clients they name
	// HashState is the SHA-256 state after those bytes (as the standard
	// library marshals it), so that the next writer and a reader that has
	// checked them hash only what is appended.
	HashState []byte `json:"hash_state"`
}

// dirLogName is the name of the n-th log of a generation.
func dirLogName(n int) string { return fmt.Sprintf("directory.%d.log", n) }

// logNumber reads n from a log name dirLogName(n); ok is false for any
// other name (a root can only name a log beside it).
func logNumber(name string) (int, bool) {
	num, ok := strings.CutPrefix(name, "directory.")
	if num, ok = strings.CutSuffix(num, ".log"); !ok || num == "" || len(num) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0 && num[0] != '0'
}

// LogOlder tells whether directory log a was started before log b.
func LogOlder(a, b string) bool {
	na, _ := logNumber(a)
	nb, _ := logNumber(b)
	return na < nb
}

// IsDirectoryLog tells whether name is the name of a directory log.
func IsDirectoryLog(name string) bool {
	_, ok := logNumber(name)
	return ok
}

// NextDirLog is the number of the next log to start in a generation
// folder: one past the highest there (1 in a new folder), so that a new
// log never overwrites one a reader may be in.
func NextDirLog(genDir string) int {
	n := 0
	entries, _ := os.ReadDir(genDir)
	for _, e := range entries {
		if k, ok := logNumber(e.Name()); ok && k > n {
			n = k
		}
	}
	return n + 1
}

// EncodeDirectory makes a directory from the site entry and each client's
// entry (json.Marshal of a DirClient, one line each, sorted by ID): a root
// and a new log for it, the generation's log number num (see NextDirLog).
// The log is written first, under root.Log, then the root, under
// DirectoryName.
func EncodeDirectory(site DirSite, clients []json.RawMessage, key *PrivateKey, num int) (root *DirRoot, rootFile, log []byte, err error) {
	n := 0
	for _, c := range clients {
		n += len(c) + 1
	}
	log = make([]byte, 0, n)
	for _, c := range clients {
		if log, err = appendEntry(log, c); err != nil {
			return nil, nil, nil, err
		}
	}
	root = &DirRoot{Version: DirectoryVersion, KeyID: key.ID, Site: site, Log: dirLogName(num), Lines: len(clients), Clients: len(clients)}
	rootFile, err = root.seal(sha256.New(), log, key)
	return root, rootFile, log, err
}

// Append makes the next root of a directory whose root is r: the entries
// of the clients that changed (sorted by ID) appended to its log. tail is
// what to write into the log at offset r.Size; next is the new root's
// file. Clients must be clients r already has (a client added or removed
// makes a new directory).
func (r *DirRoot) Append(site DirSite, changed []json.RawMessage, key *PrivateKey) (next *DirRoot, rootFile, tail []byte, err error) {
	h, err := r.hashState()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range changed {
		if tail, err = appendEntry(tail, c); err != nil {
			return nil, nil, nil, err
		}
	}
	next = &DirRoot{Version: DirectoryVersion, KeyID: key.ID, Site: site, Log: r.Log, Size: r.Size, Lines: r.Lines + len(changed), Clients: r.Clients}
	rootFile, err = next.seal(h, tail, key)
	return next, rootFile, tail, err
}

// Crowded tells whether the log holds more than twice as many lines as
// there are clients, once changed more are appended: time for a new log.
func (r *DirRoot) Crowded(changed int) bool {
	return r.Lines+changed > 2*r.Clients+16
}

func appendEntry(log []byte, entry json.RawMessage) ([]byte, error) {
	if len(entry) == 0 || bytes.IndexByte(entry, '\n') >= 0 {
		return nil, fmt.Errorf("directory entry is empty or spans lines")
	}
	if _, ok := EntryID(entry); !ok {
		return nil, fmt.Errorf("directory entry does not start with its id")
	}
	return append(append(log, entry...), '\n'), nil
}

// seal adds data (hashed by h so far up to r.Size) to r and signs it.
func (r *DirRoot) seal(h hash.Hash, data []byte, key *PrivateKey) ([]byte, error) {
	h.Write(data)
	r.Size += int64(len(data))
	r.SHA256 = hex.EncodeToString(h.Sum(nil))
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, err
	}
	r.HashState = st
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(key.Key, body))
	out := make([]byte, 0, len(sig)+len(body)+2)
	return append(append(append(append(out, sig...), '\n'), body...), '\n'), nil
}

// hashState is the SHA-256 state after the log's first r.Size bytes,
// checked against r.SHA256.
func (r *DirRoot) hashState() (hash.Hash, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(r.HashState); err != nil {
		return nil, fmt.Errorf("%s: hash state: %w", DirectoryName, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != r.SHA256 {
		return nil, fmt.Errorf("%s: the hash state is not the log's hash", DirectoryName)
	}
	return h, nil
}

// ErrOldDirectory is a directory an older hub wrote (format 1): this hub's
// hub build rewrites it.
var ErrOldDirectory = errors.New("written by an older hub")

// ParseDirRoot authenticates a root file's bytes.
func ParseDirRoot(file []byte, keys *KeySet) (*DirRoot, error) {
	sigText, body, ok := bytes.Cut(file, []byte("\n"))
	body, rest, ok2 := bytes.Cut(body, []byte("\n"))
	if !ok || !ok2 || len(rest) != 0 {
		var old struct {
			Version int `json:"version"`
		}
		if ok && ok2 && json.Unmarshal(body, &old) == nil && old.Version > 0 && old.Version < DirectoryVersion {
			return nil, fmt.Errorf("%s is %w (directory format %d; this hub reads %d): run hub build with this hub once to rewrite it", DirectoryName, ErrOldDirectory, old.Version, DirectoryVersion)
		}
		return nil, fmt.Errorf("%s is malformed", DirectoryName)
	}
	sig, err := base64.StdEncoding.DecodeString(string(sigText))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%s: malformed signature", DirectoryName)
	}
	var r DirRoot
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	pub, ok := keys.Public(r.KeyID)
	if !ok {
		return nil, fmt.Errorf("%s is signed with key %q, which is not trusted", DirectoryName, r.KeyID)
	}
	if !ed25519.Verify(pub, body, sig) {
		return nil, fmt.Errorf("%s: %w", DirectoryName, ErrSignature)
	}
	if r.Version != DirectoryVersion {
		return nil, fmt.Errorf("%s: version %d; this hub reads version %d", DirectoryName, r.Version, DirectoryVersion)
	}
	if !IsDirectoryLog(r.Log) || r.Size < 0 || r.Lines < r.Clients || r.Clients < 0 {
		return nil, fmt.Errorf("%s: malformed root", DirectoryName)
	}
	return &r, nil
}

// ReadDirRoot reads and authenticates the root of the directory in a
// generation folder.
func ReadDirRoot(genDir string, keys *KeySet) (*DirRoot, error) {
	file, err := os.ReadFile(filepath.Join(genDir, DirectoryName))
	if err != nil {
		return nil, err
	}
	return ParseDirRoot(file, keys)
}

// readLog reads bytes [from, r.Size) of r's log and checks that, hashed on
// from h (the state after the first from bytes), they give r's SHA-256.
func (r *DirRoot) readLog(genDir string, from int64, h hash.Hash) ([]byte, error) {
	f, err := os.Open(filepath.Join(genDir, r.Log))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	defer f.Close()
	data := make([]byte, r.Size-from)
	if _, err := f.ReadAt(data, from); err != nil {
		return nil, fmt.Errorf("%s: %s is shorter than its root says: %w", DirectoryName, r.Log, err)
	}
	h.Write(data)
	if hex.EncodeToString(h.Sum(nil)) != r.SHA256 {
		return nil, fmt.Errorf("%s: %s: %w", DirectoryName, r.Log, ErrSignature)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%s: %s: an entry is cut short", DirectoryName, r.Log)
	}
	return data, nil
}

// splitEntries cuts a log's bytes into its lines, each starting with the
// client's id.
func splitEntries(data []byte) ([][]byte, []string, error) {
	n := bytes.Count(data, []byte("\n"))
	lines, ids := make([][]byte, 0, n), make([]string, 0, n)
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		id, ok := EntryID(line)
		if !ok {
			return nil, nil, fmt.Errorf("%s: malformed entry", DirectoryName)
		}
		lines, ids = append(lines, line), append(ids, id)
	}
	return lines, ids, nil
}

// Entries reads the whole log, checked against r: each client's latest
// entry as its raw JSON line, sorted by ID.
func (r *DirRoot) Entries(genDir string) ([][]byte, error) {
	data, err := r.readLog(genDir, 0, sha256.New())
	if err != nil {
		return nil, err
	}
	lines, ids, err := splitEntries(data)
	if err != nil {
		return nil, err
	}
	if len(lines) != r.Lines {
		return nil, fmt.Errorf("%s: %d lines; its root says %d", DirectoryName, len(lines), r.Lines)
	}
	latest := make(map[string]int, r.Clients)
	for i, id := range ids {
		latest[id] = i
	}
	if len(latest) != r.Clients {
		return nil, fmt.Errorf("%s: %d clients; its root says %d", DirectoryName, len(latest), r.Clients)
	}
	order := slices.Sorted(maps.Keys(latest))
	out := make([][]byte, len(order))
	for i, id := range order {
		out[i] = lines[latest[id]]
	}
	return out, nil
}

// Since reads the entries appended to the log after prev, a root of the
// same log that the caller has read and checked: the changed clients'
// entries, in the order written (a later one replaces an earlier one).
// ok is false when r is not a later root of prev's log (a new log, or a
// shorter one): read all of it with Entries.
func (r *DirRoot) Since(genDir string, prev *DirRoot) (lines [][]byte, ok bool, err error) {
	if prev.Log != r.Log || prev.Size > r.Size || prev.Lines > r.Lines || prev.Clients != r.Clients {
		return nil, false, nil
	}
	h, err := prev.hashState()
	if err != nil {
		return nil, false, err
	}
	data, err := r.readLog(genDir, prev.Size, h)
	if err != nil {
		return nil, false, err
	}
	lines, _, err = splitEntries(data)
	if err != nil {
		return nil, false, err
	}
	if len(lines) != r.Lines-prev.Lines {
		return nil, false, fmt.Errorf("%s: %d lines appended; its root says %d", DirectoryName, len(lines), r.Lines-prev.Lines)
	}
	return lines, true, nil
}

// EntryID reads the client ID at the start of a directory line
// ({"id":"acme",...}) without decoding the rest.
func EntryID(line []byte) (string, bool) { return entryID(line) }

func entryID[T ~string | ~[]byte](line T) (string, bool) {
	const prefix = `{"id":"`
	if len(line) < len(prefix) || string(line[:len(prefix)]) != prefix {
		return "", false
	}
	rest := line[len(prefix):]
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"':
			return string(rest[:i]), i > 0
		case '\\':
			return "", false
		}
	}
	return "", false
}

// ReadDirectoryParts reads an authenticated directory: its root, and each
// client's latest entry as its raw JSON line, sorted by ID.
func ReadDirectoryParts(genDir string, keys *KeySet) (*DirRoot, [][]byte, error) {
	r, err := ReadDirRoot(genDir, keys)
	if err != nil {
		return nil, nil, err
	}
	lines, err := r.Entries(genDir)
	return r, lines, err
}

// ReadDirectoryClients reads an authenticated directory, keeping each
// client's entry as raw JSON (by ID), for a build to reuse.
func ReadDirectoryClients(genDir string, keys *KeySet) (*DirRoot, map[string]json.RawMessage, error) {
	r, lines, err := ReadDirectoryParts(genDir, keys)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]json.RawMessage, len(lines))
	for _, l := range lines {
		id, _ := EntryID(l)
		out[id] = l
	}
	return r, out, nil
}

// DecodeEntry decodes one client's entry.
func DecodeEntry(line []byte, c *DirClient) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%s: %w", DirectoryName, err)
	}
	return nil
}

// ReadDirectory reads and authenticates the directory in a generation folder.
func ReadDirectory(genDir string, keys *KeySet) (*Directory, error) {
	r, lines, err := ReadDirectoryParts(genDir, keys)
	if err != nil {
		return nil, err
	}
	d := &Directory{Version: r.Version, KeyID: r.KeyID, Site: r.Site, Clients: make([]DirClient, len(lines))}
	for i, l := range lines {
		if err := DecodeEntry(l, &d.Clients[i]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Latest reads the whole log, checked against r: each client's latest
// entry (by ID), as substrings of one string holding the log, so that a
// reader keeps them without a copy each and decodes only those it needs.
func (r *DirRoot) Latest(genDir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(genDir, r.Log))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DirectoryName, err)
	}
	defer f.Close()
	// Read the log whole, then hash it while it is cut into entries: on
	// two cores the SHA-256 pass and the split take about the time of one.
	// The entries are substrings of the buffer itself, not of a copy: buf
	// is never written after the read, which is what unsafe.String needs.
	buf := make([]byte, r.Size)
	if n, err := io.ReadFull(io.NewSectionReader(f, 0, r.Size), buf); err != nil {
		return nil, fmt.Errorf("%s: %s is shorter than its root says (%d of %d bytes): %v", DirectoryName, r.Log, n, r.Size, err)
	}
	sum := make(chan string, 1)
	go func() {
		h := sha256.New()
		h.Write(buf)
		sum <- hex.EncodeToString(h.Sum(nil))
	}()
	log := unsafe.String(unsafe.SliceData(buf), len(buf))
	out, lines, splitErr := latestLines(log, r.Clients)
	if <-sum != r.SHA256 {
		return nil, fmt.Errorf("%s: %s: %w", DirectoryName, r.Log, ErrSignature)
	}
	if len(log) > 0 && log[len(log)-1] != '\n' {
		return nil, fmt.Errorf("%s: %s: an entry is cut short", DirectoryName, r.Log)
	}
	if splitErr != nil {
		return nil, splitErr
	}
	if lines != r.Lines || len(out) != r.Clients {
		return nil, fmt.Errorf("%s: %d lines of %d clients; its root says %d of %d", DirectoryName, lines, len(out), r.Lines, r.Clients)
	}
	return out, nil
}

// latestLines cuts a log into lines and keeps each client's last one.
// Nothing it returns may be used before the log's hash is checked.
func latestLines(log string, clients int) (map[string]string, int, error) {
	out := make(map[string]string, clients)
	lines := 0
	for len(log) > 0 {
		var line string
		line, log, _ = strings.Cut(log, "\n")
		id, ok := entryID(line)
		if !ok {
			return nil, 0, fmt.Errorf("%s: malformed entry", DirectoryName)
		}
		out[id] = line
		lines++
	}
	return out, lines, nil
}
