// Package kvstest is a CloudFront KeyValueStore's API on 127.0.0.1 for
// tests: the real SDK client (package kvs, and hub publish -cdn-kvs-endpoint)
// talks to it.
package kvstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ARN is a KeyValueStore ARN for tests.
const ARN = "arn:aws:cloudfront::123456789012:key-value-store/0b6b1e5a-6c2f-4d4a-9c1e-2f1f3a5b7c9d"

// Start serves a store with items on 127.0.0.1 until the test ends and
// returns it and its address.
func Start(t testing.TB, items map[string]string) (*Store, string) {
	s, srv := Serve(items)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// Serve serves a store with items on 127.0.0.1 until the server is closed
// (benchmarks; tests use Start).
func Serve(items map[string]string) (*Store, *httptest.Server) {
	if items == nil {
		items = map[string]string{}
	}
	s := &Store{ARN: ARN, items: items}
	return s, httptest.NewServer(s)
}

// Items is a copy of what the store holds.
func (s *Store) Items() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.items))
	for k, v := range s.items {
		out[k] = v
	}
	return out
}

// Set writes a key as another writer would (the ETag changes).
func (s *Store) Set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[k] = v
	s.version++
}

// Updates is how many keys each UpdateKeys request changed.
func (s *Store) Updates() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.updates...)
}

// Unsigned is how many requests came without a SigV4A signature.
func (s *Store) Unsigned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsigned
}

// Store is a KeyValueStore's HTTP API as the SDK speaks it (REST and JSON):
// enough of it to run the real client, its signing and its errors, for one
// store, ARN. It refuses unsigned requests' absence of a SigV4A signature
// by recording it (Signed), refuses a stale If-Match with a
// ConflictException and a batch of more than 50 keys, and pages listings.
type Store struct {
	ARN      string
	mu       sync.Mutex
	items    map[string]string
	version  int
	updates  []int // keys changed by each UpdateKeys
	unsigned int   // requests without a SigV4A signature
}

func (s *Store) etag() string { return "v" + strconv.Itoa(s.version) }

func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-ECDSA-P256-SHA256 ") {
		s.unsigned++
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(segs) < 2 || segs[0] != "key-value-stores" {
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	if a, _ := url.PathUnescape(segs[1]); a != s.ARN {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"no store %s"}`, a)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case len(segs) == 2 && r.Method == http.MethodGet:
		w.Header().Set("ETag", s.etag())
		fmt.Fprintf(w, `{"KvsARN":%q,"ItemCount":%d}`, s.ARN, len(s.items))
	case len(segs) == 3 && segs[2] == "keys" && r.Method == http.MethodGet:
		keys := make([]string, 0, len(s.items))
		for k := range s.items {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		start, _ := strconv.Atoi(r.URL.Query().Get("NextToken"))
		n, _ := strconv.Atoi(r.URL.Query().Get("MaxResults"))
		if n <= 0 || n > 50 {
			w.Header().Set("X-Amzn-Errortype", "ValidationException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"message":"MaxResults must be 1 to 50"}`)
			return
		}
		type item struct{ Key, Value string }
		out := struct {
			Items     []item
			NextToken string `json:",omitempty"`
		}{Items: []item{}}
		for _, k := range keys[min(start, len(keys)):min(start+n, len(keys))] {
			out.Items = append(out.Items, item{k, s.items[k]})
		}
		if start+n < len(keys) {
			out.NextToken = strconv.Itoa(start + n)
		}
		json.NewEncoder(w).Encode(out)
	case len(segs) == 3 && segs[2] == "keys" && r.Method == http.MethodPost:
		if r.Header.Get("If-Match") != s.etag() {
			w.Header().Set("X-Amzn-Errortype", "ConflictException")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"message":"the store changed"}`)
			return
		}
		var in struct {
			Puts    []struct{ Key, Value string }
			Deletes []struct{ Key string }
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Puts)+len(in.Deletes) > 50 {
			w.Header().Set("X-Amzn-Errortype", "ValidationException")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"message":"bad batch"}`)
			return
		}
		for _, p := range in.Puts {
			s.items[p.Key] = p.Value
		}
		for _, d := range in.Deletes {
			delete(s.items, d.Key)
		}
		s.version++
		s.updates = append(s.updates, len(in.Puts)+len(in.Deletes))
		w.Header().Set("ETag", s.etag())
		fmt.Fprintf(w, `{"ItemCount":%d}`, len(s.items))
	default:
		http.Error(w, "no such route", http.StatusNotFound)
	}
}
