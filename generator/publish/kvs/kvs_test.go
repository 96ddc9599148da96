package kvs_test

import (
	"context"
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

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hubhq/hub/generator/publish/kvs"
)

const testARN = "arn:aws:cloudfront::123456789012:key-value-store/0b6b1e5a-6c2f-4d4a-9c1e-2f1f3a5b7c9d"

// store is a KeyValueStore's HTTP API as the SDK speaks it (REST and JSON):
// enough of it to run the real client, its signing and its errors.
type store struct {
	mu      sync.Mutex
	items   map[string]string
	version int
	updates []int // keys changed by each UpdateKeys
	auth    bool  // every request was signed (SigV4A)
}

func (s *store) etag() string { return "v" + strconv.Itoa(s.version) }

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-ECDSA-P256-SHA256 ") {
		s.auth = false
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(segs) < 2 || segs[0] != "key-value-stores" {
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	if a, _ := url.PathUnescape(segs[1]); a != testARN {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"no store %s"}`, a)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case len(segs) == 2 && r.Method == http.MethodGet:
		w.Header().Set("ETag", s.etag())
		fmt.Fprintf(w, `{"KvsARN":%q,"ItemCount":%d}`, testARN, len(s.items))
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

func open(t *testing.T, s *store) *kvs.Router {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	r, err := kvs.Open(context.Background(), testARN, srv.URL,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouterReadsWritesInBatches(t *testing.T) {
	t.Parallel()
	s := &store{items: map[string]string{}, auth: true}
	for i := range 120 {
		s.items[fmt.Sprintf("client-%03d", i)] = "old"
	}
	r := open(t, s)
	ctx := context.Background()
	routes, err := r.Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 120 || routes["client-119"] != "old" {
		t.Fatalf("Routes read %d keys (client-119 = %q); want all 120 across 3 pages", len(routes), routes["client-119"])
	}
	puts := map[string]string{}
	for i := range 70 {
		puts[fmt.Sprintf("client-%03d", i)] = "new"
	}
	if err := r.Update(ctx, puts, []string{"client-118", "client-119"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(s.updates) != "[50 22]" {
		t.Errorf("UpdateKeys batches = %v; want [50 22]", s.updates)
	}
	if s.items["client-069"] != "new" || s.items["client-070"] != "old" || len(s.items) != 118 {
		t.Errorf("store after update: client-069=%q client-070=%q, %d keys", s.items["client-069"], s.items["client-070"], len(s.items))
	}
	if !s.auth {
		t.Error("a request was not signed with SigV4A")
	}
	// The router remembers what it wrote: no listing again.
	routes, _ = r.Routes(ctx)
	if routes["client-000"] != "new" || len(routes) != 118 {
		t.Errorf("cached routes: client-000=%q, %d keys", routes["client-000"], len(routes))
	}
}

func TestRouterRetriesAfterAnotherWriter(t *testing.T) {
	t.Parallel()
	s := &store{items: map[string]string{"acme": "k1"}}
	r := open(t, s)
	ctx := context.Background()
	if _, err := r.Routes(ctx); err != nil {
		t.Fatal(err)
	}
	// Another publisher writes: this router's ETag is stale.
	s.mu.Lock()
	s.items["bolt"] = "k9"
	s.version++
	s.mu.Unlock()
	if err := r.Update(ctx, map[string]string{"acme": "k2"}, nil); err != nil {
		t.Fatalf("Update after another writer: %v; want a retry on the new ETag", err)
	}
	routes, _ := r.Routes(ctx)
	if routes["acme"] != "k2" || routes["bolt"] != "k9" {
		t.Errorf("routes = %v; want acme=k2 and the other writer's bolt=k9", routes)
	}
}

func TestRouterErrors(t *testing.T) {
	t.Parallel()
	if err := kvs.ValidARN("arn:aws:s3:::bucket"); err == nil {
		t.Error("an S3 ARN was taken for a KeyValueStore")
	}
	if _, err := kvs.Open(context.Background(), "not-an-arn", ""); err == nil || !strings.Contains(err.Error(), "not a CloudFront KeyValueStore ARN") {
		t.Errorf("Open(not-an-arn) = %v", err)
	}
	s := &store{items: map[string]string{}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	other := strings.Replace(testARN, "0b6b", "ffff", 1)
	r, err := kvs.Open(context.Background(), other, srv.URL,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Routes(context.Background()); err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("Routes on a missing store = %v; want ResourceNotFoundException", err)
	}
}
