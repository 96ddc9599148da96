package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubhq/hub/internal/testcert"
)

// TestSMTPConfigFlags: hub edge's STARTTLS and limit flags, and their mistakes.
func TestSMTPConfigFlags(t *testing.T) {
	dir := t.TempDir()
	cert, err := testcert.New("flags")
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(crt, cert.CertPEM, 0o644)
	os.WriteFile(key, cert.KeyPEM, 0o600)
	for _, tt := range []struct {
		args []string
		tls  bool
		err  string
	}{
		{nil, false, ""},
		{[]string{"-smtp-tls-cert", crt, "-smtp-tls-key", key}, true, ""},
		{[]string{"-smtp-tls-cert", crt}, false, "go together"},
		{[]string{"-smtp-tls-cert", crt, "-smtp-tls-key", crt}, false, "-smtp-tls-cert/-smtp-tls-key"},
		{[]string{"-smtp-max-conns", "0"}, false, "at least 1"},
		{[]string{"-smtp-per-ip", "5", "-smtp-max-conns", "2"}, false, ""},
	} {
		fs := flag.NewFlagSet("edge", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		rf := addReplyFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		c, err := rf.smtpConfig()
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) || (c.TLS != nil) != tt.tls {
			t.Errorf("%q: smtpConfig = TLS %v, %v; want TLS %v, error %q", tt.args, c.TLS != nil, err, tt.tls, tt.err)
		}
	}
}
