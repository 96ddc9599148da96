package generator

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hubhq/hub/themes"
)

func sampleState() *state {
	return &state{
		Version: stateVersion, Seq: 7, Global: "g1", Gen: "20261202-0001",
		Assets: map[string]assetUse{"style.0123456789.css": {Size: 5120, SHA: "ab12", Used: 1764633600}},
		Clients: map[string]*clientState{
			"acme": {
				Files:   []fileStamp{{Path: "client.yaml", Size: 311, MTime: 1764633600123456789, Ino: 1 << 40, SHA: string(bytes.Repeat([]byte{0xfe}, 32))}, {Path: "invoices/INV-1.yaml", Size: 0, MTime: -5, Ino: 9}},
				Dirs:    []dirStamp{{Path: ".", MTime: 1, Ino: 2}, {Path: "invoices", MTime: -1, Ino: 3}},
				Content: "c0ffee", Facts: 12, Key: "0123456789abcdef01234567",
				Numbers: []string{"INV-1"}, NumFiles: []string{"invoices/INV-1.yaml"}, Thresholds: []string{"2026-12-14", everyDay},
				Pages: 18, PDFs: map[string]string{"invoices/INV-1/INV-1.pdf": "k1", "statement/statement.pdf": "k2"},
			},
			"empty": {Content: "e", Key: "k"}, // nothing in any list: decoded as nil, as gob did
		},
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := sampleState()
	data := encodeState(s)
	got, err := decodeState(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("decoded state differs:\n got %+v\nwant %+v", got, s)
	}
	if again := encodeState(got); !bytes.Equal(again, data) {
		t.Error("encoding the decoded state gives other bytes")
	}
	if !bytes.Equal(encodeState(sampleState()), data) {
		t.Error("equal states encode to different bytes (map order leaked)")
	}
	// Every cut and every extra byte is refused, never a panic or a part.
	for n := range len(data) {
		if _, err := decodeState(string(data[:n])); err == nil {
			t.Fatalf("a state cut to %d of %d bytes was accepted", n, len(data))
		}
	}
	if _, err := decodeState(string(data) + "x"); err == nil {
		t.Error("bytes past the end were accepted")
	}
}

func TestStateLog(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state")
	base := sampleState()
	if err := writeState(disk{}, file, base); err != nil {
		t.Fatal(err)
	}
	next := sampleState()
	next.Seq, next.Gen = 8, "20261202-0002"
	changed := *next.Clients["acme"]
	changed.Key, changed.Content = "fedcba9876543210fedcba98", "c0ffee2"
	next.Clients["acme"] = &changed
	next.Clients["new"] = &clientState{Content: "n", Key: "nk"}
	if err := appendState(disk{}, file, base, next); err != nil {
		t.Fatal(err)
	}
	got := readState(file)
	if !reflect.DeepEqual(got.Clients, next.Clients) || got.Seq != 8 || got.Gen != next.Gen {
		t.Errorf("base and log read as %+v, want the clients of %+v", got, next)
	}
	// A record cut short by a crash is ignored: the build it belonged to
	// did not finish.
	log, _ := os.ReadFile(file + ".log")
	if err := os.WriteFile(file+".log", log[:len(log)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readState(file); got.Seq != base.Seq || got.Clients["acme"].Key != base.Clients["acme"].Key {
		t.Errorf("a cut record was applied: seq %d", got.Seq)
	}
	// A damaged base is no state at all: every client is looked at again.
	os.WriteFile(file, []byte("hub state\nrubbish"), 0o644)
	if got := readState(file); len(got.Clients) != 0 {
		t.Errorf("a damaged base gave %d clients", len(got.Clients))
	}
}

// TestGobStateUpgrade: the state of an older hub (gob, state.gob and its
// log) is read, so upgrading renders nothing again, and is rewritten in
// the new format by the first build, even one with nothing to do.
func TestGobStateUpgrade(t *testing.T) {
	content := copyTree(t, sample)
	e := newEnv(t, content)
	opt := Options{Content: content, Out: e.out, Keys: e.keys, Theme: themes.Default(), Now: testNow}
	ctx := context.Background()
	if _, err := Build(ctx, opt); err != nil {
		t.Fatal(err)
	}
	dirs := OutputDirs(e.out)
	st := readState(dirs.State)
	// As the older hub wrote it: most clients in the base, one in the log.
	var moved string
	for id := range st.Clients {
		moved = id
		break
	}
	base := *st
	base.Clients = map[string]*clientState{}
	for id, cs := range st.Clients {
		if id != moved {
			base.Clients[id] = cs
		}
	}
	base.Seq = st.Seq - 1
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&base); err != nil {
		t.Fatal(err)
	}
	legacy := legacyState(dirs.State)
	os.WriteFile(legacy, b.Bytes(), 0o644)
	b.Reset()
	b.Write(make([]byte, 4))
	if err := gob.NewEncoder(&b).Encode(&stateRecord{Seq: st.Seq, Global: st.Global, Gen: st.Gen, Clients: map[string]*clientState{moved: st.Clients[moved]}}); err != nil {
		t.Fatal(err)
	}
	rec := b.Bytes()
	binary.BigEndian.PutUint32(rec, uint32(len(rec)-4))
	os.WriteFile(legacy+".log", rec, 0o644)
	os.Remove(dirs.State)
	os.Remove(dirs.State + ".log")

	res, err := Build(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate || res.Rendered != 0 {
		t.Errorf("the build after the upgrade rendered %d clients (up to date: %v); want none", res.Rendered, res.UpToDate)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("state.gob is still there: %v", err)
	}
	if _, err := os.Stat(legacy + ".log"); !os.IsNotExist(err) {
		t.Errorf("state.gob.log is still there: %v", err)
	}
	got := readState(dirs.State)
	if got.legacy || !reflect.DeepEqual(got.Clients, st.Clients) {
		t.Errorf("the rewritten state differs from the old one")
	}
}

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(sampleState()))
	f.Add(encodeRecord(&stateRecord{Seq: 1, Clients: sampleState().Clients}))
	f.Add([]byte(stateMagic))
	f.Add([]byte(stateMagic + "\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeState(string(data)); err == nil {
			again, err := decodeState(string(encodeState(s)))
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("a decoded state does not survive encoding: %v", err)
			}
		}
		if rec, _, err := decodeRecord(string(data)); err == nil {
			again, _, err := decodeRecord(string(encodeRecord(rec)))
			if err != nil || !reflect.DeepEqual(again.Clients, rec.Clients) {
				t.Fatalf("a decoded record does not survive encoding: %v", err)
			}
		}
	})
}
