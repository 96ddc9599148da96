package generator

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
)

// The state's file format. A build of an unchanged site reads the whole
// state before anything else, so it is made to decode fast: a magic line,
// then uvarint- and varint-coded numbers and length-prefixed strings, in
// the order of the fields below. Decoded strings are substrings of the
// file's one copy in memory, so decoding allocates per client, not per
// string. Maps are written in key order, so equal states are equal bytes.
//
//	state   = magic version seq global gen assets clients
//	record  = magic version seq global gen clients        (one incremental build, in the log)
//	assets  = count { name size sha used }
//	clients = count { id files dirs content facts key numbers numfiles thresholds pages pdfs }
//	files   = count { path size mtime ino sha }
//	dirs    = count { path mtime ino }
//	numbers, numfiles, thresholds = count { string }
//	pdfs    = count { path key }
//
// Numbers that can be negative (sizes, times, facts, pages) are varints;
// inodes and counts are uvarints.
const stateMagic = "hub state\n"

var errStateFile = errors.New("state file is malformed")

type stateWriter struct{ b []byte }

func (w *stateWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *stateWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *stateWriter) str(s string)  { w.uint(uint64(len(s))); w.b = append(w.b, s...) }

func (w *stateWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *stateWriter) header(version int, seq uint64, global, gen string) {
	w.b = append(w.b, stateMagic...)
	w.uint(uint64(version))
	w.uint(seq)
	w.str(global)
	w.str(gen)
}

func (w *stateWriter) clients(clients map[string]*clientState) {
	w.uint(uint64(len(clients)))
	for _, id := range slices.Sorted(maps.Keys(clients)) {
		cs := clients[id]
		w.str(id)
		w.uint(uint64(len(cs.Files)))
		for _, f := range cs.Files {
			w.str(f.Path)
			w.int(f.Size)
			w.int(f.MTime)
			w.uint(f.Ino)
			w.str(f.SHA)
		}
		w.uint(uint64(len(cs.Dirs)))
		for _, d := range cs.Dirs {
			w.str(d.Path)
			w.int(d.MTime)
			w.uint(d.Ino)
		}
		w.str(cs.Content)
		w.int(cs.Facts)
		w.str(cs.Key)
		w.strs(cs.Numbers)
		w.strs(cs.NumFiles)
		w.strs(cs.Thresholds)
		w.int(int64(cs.Pages))
		w.uint(uint64(len(cs.PDFs)))
		for _, p := range slices.Sorted(maps.Keys(cs.PDFs)) {
			w.str(p)
			w.str(cs.PDFs[p])
		}
	}
}

// encodeState is the state as a base file.
func encodeState(s *state) []byte {
	w := &stateWriter{b: make([]byte, 0, 4096)}
	w.header(s.Version, s.Seq, s.Global, s.Gen)
	w.uint(uint64(len(s.Assets)))
	for _, name := range slices.Sorted(maps.Keys(s.Assets)) {
		a := s.Assets[name]
		w.str(name)
		w.int(a.Size)
		w.str(a.SHA)
		w.int(a.Used)
	}
	w.clients(s.Clients)
	return w.b
}

// encodeRecord is one incremental build's record for the log.
func encodeRecord(rec *stateRecord) []byte {
	w := &stateWriter{}
	w.header(stateVersion, rec.Seq, rec.Global, rec.Gen)
	w.clients(rec.Clients)
	return w.b
}

// stateReader decodes what stateWriter wrote. The first problem sticks:
// every later read returns zero values, and err says the file is bad.
type stateReader struct {
	s   string
	err error
}

func (r *stateReader) fail() { r.err, r.s = errStateFile, "" }

func (r *stateReader) uint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // past 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.fail()
	return 0
}

// int reads a varint (zig-zag coded, as binary.AppendVarint writes it).
func (r *stateReader) int() int64 {
	u := r.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a number of items, each at least least bytes long: a count
// the rest of the file cannot hold is an error, not an allocation.
func (r *stateReader) count(least int) int {
	n := r.uint()
	if n > uint64(len(r.s)/least) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *stateReader) str() string {
	n := r.uint()
	if n > uint64(len(r.s)) {
		r.fail()
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *stateReader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

// header reads the magic line and the fields every file starts with.
func (r *stateReader) header() (version int, seq uint64, global, gen string) {
	var ok bool
	if r.s, ok = strings.CutPrefix(r.s, stateMagic); !ok {
		r.fail()
		return
	}
	version = int(r.uint())
	return version, r.uint(), r.str(), r.str()
}

func (r *stateReader) clients() map[string]*clientState {
	n := r.count(1)
	out := make(map[string]*clientState, n)
	for range n {
		id := r.str()
		cs := &clientState{}
		if nf := r.count(5); nf > 0 {
			cs.Files = make([]fileStamp, nf)
			for i := range cs.Files {
				cs.Files[i] = fileStamp{Path: r.str(), Size: r.int(), MTime: r.int(), Ino: r.uint(), SHA: r.str()}
			}
		}
		if nd := r.count(3); nd > 0 {
			cs.Dirs = make([]dirStamp, nd)
			for i := range cs.Dirs {
				cs.Dirs[i] = dirStamp{Path: r.str(), MTime: r.int(), Ino: r.uint()}
			}
		}
		cs.Content, cs.Facts, cs.Key = r.str(), r.int(), r.str()
		cs.Numbers, cs.NumFiles, cs.Thresholds = r.strs(), r.strs(), r.strs()
		cs.Pages = int(r.int())
		if np := r.count(2); np > 0 {
			cs.PDFs = make(map[string]string, np)
			for range np {
				p := r.str()
				cs.PDFs[p] = r.str()
			}
		}
		if r.err != nil {
			return nil
		}
		out[id] = cs
	}
	return out
}

// decodeState reads a base file.
func decodeState(data string) (*state, error) {
	r := &stateReader{s: data}
	s := &state{}
	s.Version, s.Seq, s.Global, s.Gen = r.header()
	if na := r.count(4); na > 0 {
		s.Assets = make(map[string]assetUse, na)
		for range na {
			name := r.str()
			s.Assets[name] = assetUse{Size: r.int(), SHA: r.str(), Used: r.int()}
		}
	}
	s.Clients = r.clients()
	if r.err == nil && r.s != "" {
		r.fail() // bytes past the end
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// decodeRecord reads one record of the log.
func decodeRecord(data string) (*stateRecord, int, error) {
	r := &stateReader{s: data}
	version, seq, global, gen := r.header()
	rec := &stateRecord{Seq: seq, Global: global, Gen: gen, Clients: r.clients()}
	if r.err == nil && r.s != "" {
		r.fail()
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	return rec, version, nil
}
