package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hubhq/hub/generator/publish/kvs/kvstest"
	"github.com/hubhq/hub/generator/publish/s3bucket/s3test"
)

// publishBench publishes the site in dir to a local S3 server (versitygw)
// with hub publish, once per call of its step, and prints what each wrote.
type publishBench struct {
	hub, dir string
	srv      *s3test.Server
	kvs      *httptest.Server // a CloudFront KeyValueStore's API: publishing for CloudFront too
}

// newPublishBench starts versitygw, or returns nil when it is not installed.
func newPublishBench(hub, dir string) (*publishBench, error) {
	bin, ok := s3test.Binary()
	if !ok {
		fmt.Println("\npublish: skipped (needs versitygw: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
		return nil, nil
	}
	srv, err := s3test.Launch(bin)
	if err != nil {
		return nil, err
	}
	if err := srv.CreateBucket(context.Background(), "bench"); err != nil {
		s3test.Stop()
		return nil, err
	}
	_, kvs := kvstest.Serve(nil)
	return &publishBench{hub: hub, dir: dir, srv: srv, kvs: kvs}, nil
}

func (p *publishBench) close() {
	p.kvs.Close()
	s3test.Stop()
}

// store opens the published blobs to nginx and returns the address of the
// published site, for deploy/nginx/hub-bundles-s3.conf.
func (p *publishBench) store() (string, error) {
	if err := p.srv.AllowBlobReads(context.Background(), "bench", "site/"); err != nil {
		return "", err
	}
	return p.srv.Endpoint + "/bench/site", nil
}

var publishCDNRE = regexp.MustCompile(`for the CDN (\d+) files copied by path, (\d+) routes written`)

var publishRE = regexp.MustCompile(`\((\d+) switched\).*; (\d+) objects written \(([^)]+)\), (\d+) files already there`)

// step runs hub publish and prints a row.
func (p *publishBench) step(name string) error {
	cmd := exec.Command(p.hub, "publish", "-out", filepath.Join(p.dir, "public"), "-keys", filepath.Join(p.dir, "keys"), "-to", "s3://bench/site", "-endpoint", p.srv.Endpoint)
	cmd.Env = append(append(os.Environ(), p.srv.Env()...), "HUB_CDN_KVS="+kvstest.ARN, "HUB_CDN_KVS_ENDPOINT="+p.kvs.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hub publish: %v\n%s", err, out.String())
	}
	wall := time.Since(start)
	m := publishRE.FindStringSubmatch(out.String())
	if m == nil {
		return fmt.Errorf("hub publish printed %q", out.String())
	}
	cdn := publishCDNRE.FindStringSubmatch(out.String())
	if cdn == nil {
		return fmt.Errorf("hub publish printed no CDN figures: %q", out.String())
	}
	fmt.Printf("  then hub publish (%s) to a local S3 server: %s, %s clients switched, %s objects (%s) written, %s files already there; for CloudFront %s files copied by path, %s routes written\n", name, wall.Round(time.Millisecond), m[1], m[2], m[3], m[4], cdn[1], cdn[2])
	return nil
}
