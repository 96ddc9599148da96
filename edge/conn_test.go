package edge

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingConn is a net.Conn that logs what is done to it.
type recordingConn struct {
	net.Conn // nil: only the methods below are called
	mu       sync.Mutex
	log      []string
	written  bytes.Buffer
	wrote    chan struct{} // a write happened
}

func newRecordingConn() *recordingConn { return &recordingConn{wrote: make(chan struct{}, 16)} }

func (c *recordingConn) add(e string) {
	c.mu.Lock()
	c.log = append(c.log, e)
	c.mu.Unlock()
}

func (c *recordingConn) events() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.log, " ")
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.log = append(c.log, fmt.Sprintf("write:%d", len(p)))
	c.written.Write(p)
	c.mu.Unlock()
	c.wrote <- struct{}{}
	return len(p), nil
}

func (c *recordingConn) Read(p []byte) (int, error)       { c.add("read"); return 0, io.EOF }
func (c *recordingConn) SetDeadline(time.Time) error      { c.add("deadline"); return nil }
func (c *recordingConn) SetReadDeadline(time.Time) error  { c.add("read-deadline"); return nil }
func (c *recordingConn) SetWriteDeadline(time.Time) error { c.add("write-deadline"); return nil }
func (c *recordingConn) Close() error                     { c.add("close"); return nil }
func (c *recordingConn) CloseWrite() error                { c.add("close-write"); return nil }
func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	c.add("readfrom")
	return io.Copy(io.Discard, r)
}

// TestCoalescingConn: a full buffer's write is held until whatever comes
// next on the connection, and sent before it; other writes pass at once.
func TestCoalescingConn(t *testing.T) {
	t.Parallel()
	full := bytes.Repeat([]byte("a"), bufferedWrite)
	for _, tc := range []struct {
		name string
		then func(c *coalescingConn)
		want string // the events, after the full write and then
	}{
		{"a smaller write: both in one go", func(c *coalescingConn) { c.Write([]byte("rest")) }, "write:4096 write:4"},
		{"another full write: both in one go", func(c *coalescingConn) { c.Write(full) }, "write:4096 write:4096"},
		{"the write deadline (the end of a response)", func(c *coalescingConn) { c.SetWriteDeadline(time.Time{}) }, "write:4096 write-deadline"},
		{"the read deadline", func(c *coalescingConn) { c.SetReadDeadline(time.Time{}) }, "write:4096 read-deadline"},
		{"a deadline", func(c *coalescingConn) { c.SetDeadline(time.Time{}) }, "write:4096 deadline"},
		{"a read", func(c *coalescingConn) { c.Read(make([]byte, 1)) }, "write:4096 read"},
		{"a sendfile", func(c *coalescingConn) { c.ReadFrom(strings.NewReader("file")) }, "write:4096 readfrom"},
		{"closing for writes", func(c *coalescingConn) { c.CloseWrite() }, "write:4096 close-write"},
		{"closing", func(c *coalescingConn) { c.Close() }, "write:4096 close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newRecordingConn()
			c := newCoalescingConn(rc)
			c.timer.Stop() // this test is about what comes next, not the timer
			if n, err := c.Write(full); n != len(full) || err != nil {
				t.Fatalf("Write(4096 bytes) = %d, %v; want 4096, nil", n, err)
			}
			if got := rc.events(); got != "" {
				t.Fatalf("after a full buffer's write: %q; want it held", got)
			}
			tc.then(c)
			if got := rc.events(); got != tc.want {
				t.Errorf("events = %q; want %q", got, tc.want)
			}
		})
	}
	t.Run("smaller writes pass at once", func(t *testing.T) {
		t.Parallel()
		rc := newRecordingConn()
		c := newCoalescingConn(rc)
		for _, n := range []int{1, bufferedWrite - 1, bufferedWrite + 1} {
			c.Write(make([]byte, n))
		}
		if got, want := rc.events(), fmt.Sprintf("write:1 write:%d write:%d", bufferedWrite-1, bufferedWrite+1); got != want {
			t.Errorf("events = %q; want %q", got, want)
		}
	})
	t.Run("nothing comes next: sent after holdMax", func(t *testing.T) {
		t.Parallel()
		rc := newRecordingConn()
		c := newCoalescingConn(rc)
		c.Write(full)
		<-rc.wrote // the timer's write
		if got := rc.events(); got != "write:4096" {
			t.Errorf("events = %q; want the held write", got)
		}
	})
}

// TestCoalescingServer serves pages of every size around net/http's
// buffer, and a stream that flushes exactly a buffer's worth, through a
// coalescing listener: every byte arrives, in order.
func TestCoalescingServer(t *testing.T) {
	t.Parallel()
	page := func(n int) []byte { return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n] }
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Write(page(bufferedWrite)) // the buffer, exactly: held
			w.(http.Flusher).Flush()
			<-release // the client has it by now (sent after holdMax)
			w.Write([]byte("end"))
			return
		}
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(page(n))
	}))
	srv.Listener = coalescingListener{srv.Listener}
	srv.Start()
	defer srv.Close()
	for _, n := range []int{0, 100, 3000, 3900, 4000, 4096, 4097, 8192, 8193, 100_000} {
		resp, err := srv.Client().Get(fmt.Sprintf("%s/?n=%d", srv.URL, n))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(body, page(n)) {
			t.Errorf("GET ?n=%d: %d bytes, %v; want %d bytes of the page", n, len(body), err, n)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, bufferedWrite)
	if _, err := io.ReadFull(resp.Body, first); err != nil || !bytes.Equal(first, page(bufferedWrite)) {
		t.Fatalf("stream: the flushed part: %v", err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "end" {
		t.Errorf("stream: the rest = %q, %v; want \"end\"", rest, err)
	}
}
