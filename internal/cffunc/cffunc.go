// Package cffunc runs hub's CloudFront Function (deploy/cloudfront/hub-route.js)
// in Node.js the way CloudFront calls it: a viewer-request event in, a
// request or a response out, with the `cloudfront` module's KeyValueStore
// and origin selection provided by a stand-in backed by a map. Tests use
// it to check the function's decisions and to follow its rewritten URIs
// into a real S3 server.
package cffunc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Request is the part of a viewer-request event the function reads.
type Request struct {
	Method      string                    `json:"method"`
	URI         string                    `json:"uri"`
	QueryString map[string]map[string]any `json:"querystring"`
	Headers     map[string]map[string]any `json:"headers"`
	Cookies     map[string]map[string]any `json:"cookies"`
}

// Result is what the function returned for one request.
type Result struct {
	// Request is the request passed on (nil when the function answered).
	Request *Request `json:"request"`
	// StatusCode and Location are the function's own answer.
	StatusCode int    `json:"statusCode"`
	Location   string `json:"location"`
	// Origin is the origin ID the function selected, "" for the behaviour's.
	Origin string `json:"origin"`
}

// Source is the function's file in the repository.
func Source() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "cloudfront", "hub-route.js")
}

// required says whether a missing Node.js fails the test (CI) rather than
// skipping it.
func required() bool { return os.Getenv("CI") == "true" || os.Getenv("HUB_REQUIRE_NODE") == "1" }

const stub = `import fs from 'node:fs';
const routes = JSON.parse(fs.readFileSync(process.env.HUB_ROUTES, 'utf8'));
export default {
  kvs(id) {
    return {
      async get(k) {
        if (!Object.prototype.hasOwnProperty.call(routes, k)) throw new Error('key not found: ' + k);
        return routes[k];
      },
    };
  },
  selectRequestOriginById(id) { globalThis.__hubOrigin = id; },
};
`

const driver = `import fs from 'node:fs';
import { handler } from './route.mjs';
const events = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = [];
for (const request of events) {
  globalThis.__hubOrigin = '';
  for (const k of ['querystring', 'headers', 'cookies']) request[k] = request[k] || {};
  const r = await handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '127.0.0.1' }, request });
  const res = { origin: globalThis.__hubOrigin };
  if (r && r.statusCode) {
    res.statusCode = r.statusCode;
    res.location = r.headers && r.headers.location ? r.headers.location.value : '';
  } else {
    res.request = r;
  }
  out.push(res);
}
process.stdout.write(JSON.stringify(out));
`

// Run calls the function once per request, with routes as its
// KeyValueStore. It skips the test when Node.js is not installed (fails
// in CI).
func Run(t testing.TB, routes map[string]string, reqs []Request) []Result {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if required() {
			t.Fatal("node is not installed: the CloudFront Function cannot be tested (.ci/run installs it)")
		}
		t.Skip("node is not installed")
	}
	src, err := os.ReadFile(Source())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"node_modules/cloudfront/package.json": `{"name":"cloudfront","type":"module","main":"index.js"}`,
		"node_modules/cloudfront/index.js":     stub,
		"package.json":                         `{"type":"module"}`,
		"route.mjs":                            string(src) + "\nexport { handler };\n",
		"drive.mjs":                            driver,
	}
	rj, _ := json.Marshal(routes)
	files["routes.json"] = string(rj)
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, _ := json.Marshal(reqs)
	cmd := exec.Command(node, "drive.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HUB_ROUTES="+filepath.Join(dir, "routes.json"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the CloudFront Function in node: %v\n%s", err, stderr.String())
	}
	var res []Result
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(reqs) {
		t.Fatalf("the function's results: %v (%d for %d requests): %s", err, len(res), len(reqs), out)
	}
	return res
}

// Get is a GET request for uri.
func Get(uri string) Request { return Request{Method: "GET", URI: uri} }

// String describes a result in a test failure.
func (r Result) String() string {
	switch {
	case r.Request == nil:
		return fmt.Sprintf("answer %d location %q", r.StatusCode, r.Location)
	case r.Origin != "":
		return fmt.Sprintf("to origin %s: %s %s", r.Origin, r.Request.Method, r.Request.URI)
	}
	return fmt.Sprintf("to the bucket: %s %s", r.Request.Method, r.Request.URI)
}
