// Package s3test starts a real S3 server for tests: versitygw (Apache-2.0)
// with its posix backend in a temporary folder, listening on 127.0.0.1.
// Without versitygw the test is skipped, unless HUB_REQUIRE_S3=1 or CI=true,
// where it fails.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hubhq/hub/generator/publish/s3bucket"
)

// Root credentials of the test server.
const (
	AccessKey = "hubtestaccess"
	SecretKey = "hubtestsecret0123456789"
)

// Server is a running S3 server.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the posix backend's folder: one folder per bucket
}

// Env is what a process needs to reach the server with the AWS SDK's
// standard configuration (no shared files from the machine).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

// Bucket connects to bucket name (created if needed) with the key prefix.
func (s *Server) Bucket(t testing.TB, name, prefix string) *s3bucket.Bucket {
	t.Helper()
	ctx := context.Background()
	b, err := s.open(ctx, name, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, name)); err != nil {
		if err := b.CreateBucket(ctx); err != nil {
			t.Fatalf("creating bucket %s: %v", name, err)
		}
	}
	return b
}

// Required reports whether a missing tool fails the test rather than skipping it.
func Required() bool { return os.Getenv("HUB_REQUIRE_S3") == "1" || os.Getenv("CI") == "true" }

var (
	mu     sync.Mutex
	shared *Server
)

// Start returns the test binary's S3 server, starting it on first use
// (tests use buckets of their own). It is stopped when the test binary's
// TestMain calls Stop.
func Start(t testing.TB) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		return shared
	}
	bin, ok := Binary()
	if !ok {
		if Required() {
			t.Fatal("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0); HUB_REQUIRE_S3 or CI is set")
		}
		t.Skip("versitygw is not installed; skipping the S3 tests")
	}
	srv, err := start(bin)
	if err != nil {
		t.Fatal(err)
	}
	shared = srv
	return srv
}

// Binary finds versitygw: on PATH, or where go install puts it.
func Binary() (string, bool) {
	if bin, err := exec.LookPath("versitygw"); err == nil {
		return bin, true
	}
	p := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
	if _, err := os.Stat(p); err == nil {
		return p, true
	}
	return "", false
}

// Launch starts a server outside a test (benchmarks); Stop ends it.
func Launch(bin string) (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		return nil, fmt.Errorf("a server is running already")
	}
	srv, err := start(bin)
	if err == nil {
		shared = srv
	}
	return srv, err
}

// CreateBucket makes bucket on the server with the root credentials.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	b, err := s.open(ctx, name, "")
	if err != nil {
		return err
	}
	return b.CreateBucket(ctx)
}

// AllowBlobReads lets anyone read bucket/prefix/blobs/* (and nothing else)
// without credentials, as docs/deploy.md asks for nginx in front of a bucket.
func (s *Server) AllowBlobReads(ctx context.Context, bucket, prefix string) error {
	b, err := s.open(ctx, bucket, prefix)
	if err != nil {
		return err
	}
	return b.AllowBlobReads(ctx)
}

func (s *Server) open(ctx context.Context, name, prefix string) (*s3bucket.Bucket, error) {
	return s3bucket.Open(ctx, "s3://"+name+"/"+prefix, s.Endpoint,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}))
}

var (
	proc       *exec.Cmd
	procExited chan struct{}
)

func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "hub-s3-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--port", addr, "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	srv := &Server{Endpoint: "http://" + addr, Dir: dir}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("versitygw exited: %s", out.String())
		default:
		}
		// Any HTTP answer (an S3 error for an anonymous request) means it listens.
		if resp, err := http.Get(srv.Endpoint + "/"); err == nil {
			resp.Body.Close()
			proc, procExited = cmd, exited
			return srv, nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return nil, fmt.Errorf("versitygw did not listen on %s within 20 s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond) // polling for the listener, with a deadline
	}
}

// Stop ends the server, if one was started, and removes its folder.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if proc != nil {
		proc.Process.Kill()
		<-procExited
		proc = nil
	}
	if shared != nil {
		os.RemoveAll(shared.Dir)
		shared = nil
	}
}
