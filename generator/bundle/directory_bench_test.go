package bundle

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var benchClients = flag.Int("clients", 0, "BenchmarkDirectory: this many clients instead of 1,000 and 10,000")

// benchEntries is n clients' entries the size of the hubbench site's
// (about 1.5 KB each: two contacts, three quotes and five invoices).
func benchEntries(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		c := DirClient{ID: fmt.Sprintf("client-%05d", i), Name: fmt.Sprintf("Client %d", i), DisplayName: fmt.Sprintf("Client %d LLC", i), Bundle: "0123456789abcdef0123456789abcdef",
			Contacts: []DirContact{{Name: "Ann Example", Email: fmt.Sprintf("ann%d@example.com", i)}, {Name: "Bob Example", Email: fmt.Sprintf("bob%d@example.com", i)}}}
		for q := range 3 {
			n := fmt.Sprintf("Q-%d-%d", i, q)
			c.Documents = append(c.Documents, DirDocument{Kind: "quote", Number: n, Title: "Spring planting and mulch", Path: "quotes/" + n + "/", Amount: "$1,234.00", Status: "Awaiting response", State: "awaiting_response", Currency: "USD", Total: 123400, Version: "abcdef0123456789", Deposit: 30000})
		}
		for v := range 5 {
			n := fmt.Sprintf("INV-%d-%d", i, v)
			c.Documents = append(c.Documents, DirDocument{Kind: "invoice", Number: n, Title: "Monthly maintenance", Path: "invoices/" + n + "/", Amount: "$456.00", Status: "Awaiting payment", State: "awaiting_payment", Currency: "USD", Total: 45600, Due: 45600})
		}
		out[i], _ = json.Marshal(&c)
	}
	return out
}

func benchDirectory(b *testing.B, n int) (dir string, key *PrivateKey, keys *KeySet, entries []json.RawMessage, root *DirRoot) {
	keyDir := b.TempDir()
	key, _ = GenerateKey(keyDir)
	keys, _ = LoadKeySet(keyDir)
	entries = benchEntries(n)
	dir = b.TempDir()
	root, rootFile, log, err := EncodeDirectory(DirSite{Name: "Greenleaf"}, entries, key, 1)
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, root.Log), log, 0o600)
	os.WriteFile(filepath.Join(dir, DirectoryName), rootFile, 0o600)
	return dir, key, keys, entries, root
}

// BenchmarkDirectory measures the directory's write and read paths at
// 1,000 and 10,000 clients: a whole new directory (a site-wide build), the
// next root after one client changed (an incremental build), reading it
// all (the edge starting), and reading one appended entry (the edge after
// an incremental build); ReadLatest is what the edge reads at start-up.
// go test -run '^$' -bench Directory ./generator/bundle (and -clients 100000).
func BenchmarkDirectory(b *testing.B) {
	sizes := []int{1000, 10000}
	if *benchClients > 0 {
		sizes = []int{*benchClients}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("Encode/%d", n), func(b *testing.B) {
			_, key, _, entries, _ := benchDirectory(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := EncodeDirectory(DirSite{Name: "Greenleaf"}, entries, key, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("AppendOne/%d", n), func(b *testing.B) {
			dir, key, keys, entries, _ := benchDirectory(b, n)
			b.ReportAllocs()
			for b.Loop() {
				root, err := ReadDirRoot(dir, keys)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, _, err := root.Append(root.Site, entries[n/2:n/2+1], key); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ReadAll/%d", n), func(b *testing.B) {
			dir, _, keys, _, _ := benchDirectory(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ReadDirectoryParts(dir, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ReadLatest/%d", n), func(b *testing.B) {
			dir, _, keys, _, _ := benchDirectory(b, n)
			b.ReportAllocs()
			for b.Loop() {
				root, err := ReadDirRoot(dir, keys)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := root.Latest(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ReadOneAppended/%d", n), func(b *testing.B) {
			dir, key, keys, entries, first := benchDirectory(b, n)
			_, rootFile, tail, err := first.Append(first.Site, entries[n/2:n/2+1], key)
			if err != nil {
				b.Fatal(err)
			}
			f, _ := os.OpenFile(filepath.Join(dir, first.Log), os.O_WRONLY, 0)
			f.WriteAt(tail, first.Size)
			f.Close()
			os.WriteFile(filepath.Join(dir, DirectoryName), rootFile, 0o600)
			b.ReportAllocs()
			for b.Loop() {
				root, err := ReadDirRoot(dir, keys)
				if err != nil {
					b.Fatal(err)
				}
				if lines, ok, err := root.Since(dir, first); err != nil || !ok || len(lines) != 1 {
					b.Fatal(lines, ok, err)
				}
			}
		})
	}
}
