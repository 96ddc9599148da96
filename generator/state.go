package generator

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hubhq/hub/generator/site"
)

const stateVersion = 5

// state is what a build records for the next one (OUT.d/state).
type state struct {
	Version int
	Seq     uint64 // one more at every build that changed something
	Global  string // hash of what every client depends on
	Gen     string
	Clients map[string]*clientState
	// Assets are the fingerprinted public assets the generation serves:
	// its own, and those of earlier generations still within AssetGrace.
	Assets map[string]assetUse
	// contentIDs are the client folders this build listed (not saved: a
	// Builder's next build reuses them when no changed path is directly
	// in clients/).
	contentIDs []string
	legacy     bool // read from state.gob: the next build writes a base
}

// assetUse is one asset and the last build whose pages used it.
type assetUse struct {
	Size int64
	SHA  string // hex
	Used int64  // Unix seconds
}

type clientState struct {
	Files      []fileStamp
	Dirs       []dirStamp
	Content    string   // hash of the client's files
	Facts      int64    // version of the client's recorded facts (0: none)
	Key        string   // bundle key
	Numbers    []string // quote and invoice numbers...
	NumFiles   []string // ...and the file each is in, relative to the client's folder
	Thresholds []string // dates on which a derived state changes
	Pages      int
	PDFs       map[string]string // bundle path → key of the PDF's inputs (pdf.Doc.Key)
	// dir is the client's entry in the edge's directory, as JSON. It is not
	// saved: a later build takes it from the directory file it wrote.
	dir    json.RawMessage
	loaded bool // this build read the client's files
	// Not saved either, kept by a Builder: what Key was made from (see
	// keyInputs), and Numbers lower-cased (see lowerNumbers).
	keyOf keyInputs
	lower []string
}

// lowerNumbers is the client's numbers, lower-cased (made once).
func (cs *clientState) lowerNumbers() []string {
	if cs.lower == nil && len(cs.Numbers) > 0 {
		cs.lower = make([]string, len(cs.Numbers))
		for i, n := range cs.Numbers {
			cs.lower[i] = strings.ToLower(n)
		}
	}
	return cs.lower
}

// numbered returns the client's numbers with their files.
func (cs *clientState) numbered(clientDir string) []site.Numbered {
	out := make([]site.Numbered, len(cs.Numbers))
	for i, n := range cs.Numbers {
		out[i] = site.Numbered{Number: n, File: filepath.Join(clientDir, filepath.FromSlash(cs.NumFiles[i]))}
	}
	return out
}

type fileStamp struct {
	Path  string // relative to the client's folder, slash-separated
	Size  int64
	MTime int64
	Ino   uint64
	SHA   string // the raw 32-byte SHA-256
}

type dirStamp struct {
	Path  string
	MTime int64
	Ino   uint64
}

// stateStamp identifies the state files' contents without reading them:
// every build that changes the state replaces state.gob (a new inode) or
// appends to state.gob.log (a new size).
type stateStamp struct{ base, log fileID }

type fileID struct {
	ino, size uint64
	mtime     int64
}

func readStamp(file string) stateStamp {
	id := func(p string) fileID {
		fi, err := os.Stat(p)
		if err != nil {
			return fileID{}
		}
		return fileID{ino: inode(fi), size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	}
	return stateStamp{base: id(file), log: id(file + ".log")}
}

func sameIDs(a, b *state) bool {
	if len(a.Clients) != len(b.Clients) {
		return false
	}
	for id := range b.Clients {
		if _, ok := a.Clients[id]; !ok {
			return false
		}
	}
	return true
}

func sameClients(a, b *state) bool {
	if len(a.Clients) != len(b.Clients) {
		return false
	}
	for id, cs := range b.Clients {
		o, ok := a.Clients[id]
		if !ok || o.Key != cs.Key {
			return false
		}
	}
	return true
}

func (s *state) usesBundle(dir string, d Dirs) bool {
	for id, cs := range s.Clients {
		if filepath.Join(d.Bundles, id, cs.Key) == dir {
			return true
		}
	}
	return false
}

// The state is a base file (OUT.d/state) and a log of the builds since
// (state.log): an incremental build appends only the clients it changed,
// instead of rewriting the state of every client. statefile.go has the
// format. Older hubs wrote the same state with encoding/gob as state.gob
// and state.gob.log; they are read once, and the next build (even one with
// nothing to do) writes a base in the new format and removes them.

// stateRecord is one incremental build in the log.
type stateRecord struct {
	Seq     uint64
	Global  string
	Gen     string
	Clients map[string]*clientState
}

// maxStateLog: past this size, the next build writes a new base instead.
const maxStateLog = 4 << 20

// legacyState is where builds before this format kept the state.
func legacyState(file string) string { return filepath.Join(filepath.Dir(file), "state.gob") }

// readState reads the state, or returns an empty one (every client is
// then looked at) when there is none or it cannot be read.
func readState(file string) *state {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return readGobState(legacyState(file))
	}
	if err != nil {
		return emptyState()
	}
	s, err := decodeState(string(data))
	if err != nil || s.Clients == nil {
		return emptyState()
	}
	log, _ := os.ReadFile(file + ".log")
	logRecords(log, func(data []byte) bool {
		rec, version, err := decodeRecord(string(data))
		if err != nil || version != s.Version {
			return false
		}
		s.apply(rec)
		return true
	})
	return s
}

// logRecords calls f with each record of a state log (a 4-byte length,
// then the record) until f refuses one or a record is cut short by a
// crash: the build it belonged to did not finish.
func logRecords(log []byte, f func(data []byte) bool) {
	for len(log) >= 4 {
		n := int(binary.BigEndian.Uint32(log))
		if len(log) < 4+n || !f(log[4:4+n]) {
			return
		}
		log = log[4+n:]
	}
}

func emptyState() *state { return &state{Clients: map[string]*clientState{}} }

// apply takes a logged build into s, unless the base holds it already.
func (s *state) apply(rec *stateRecord) {
	if rec.Seq <= s.Seq {
		return
	}
	s.Seq, s.Global, s.Gen = rec.Seq, rec.Global, rec.Gen
	for id, cs := range rec.Clients {
		s.Clients[id] = cs
	}
}

// readGobState reads the state as builds before this format wrote it.
func readGobState(file string) *state {
	data, err := os.ReadFile(file)
	if err != nil {
		return emptyState()
	}
	s := &state{}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(s); err != nil || s.Clients == nil {
		return emptyState()
	}
	log, _ := os.ReadFile(file + ".log")
	logRecords(log, func(data []byte) bool {
		var rec stateRecord
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&rec); err != nil {
			return false
		}
		s.apply(&rec)
		return true
	})
	s.legacy = true
	return s
}

// writeState writes a new base and empties the log.
func writeState(d disk, file string, s *state) error {
	if err := d.writeAtomic(file, encodeState(s), 0o644); err != nil {
		return err
	}
	for _, old := range []string{file + ".log", legacyState(file), legacyState(file) + ".log"} {
		if err := os.Remove(old); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// appendState logs the clients that changed since old; after a state read
// from the old format, it writes a new base instead.
func appendState(d disk, file string, old, next *state) error {
	if st, err := os.Stat(file + ".log"); old.legacy || err == nil && st.Size() > maxStateLog {
		return writeState(d, file, next)
	}
	rec := stateRecord{Seq: next.Seq, Global: next.Global, Gen: next.Gen, Clients: map[string]*clientState{}}
	for id, n := range next.Clients {
		if o := old.Clients[id]; o != n && (o == nil || o.Key != n.Key || o.Content != n.Content || !slices.Equal(o.Files, n.Files) || !slices.Equal(o.Dirs, n.Dirs)) {
			rec.Clients[id] = n
		}
	}
	data := encodeRecord(&rec)
	buf := make([]byte, 4, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	return d.appendSync(file+".log", append(buf, data...))
}
