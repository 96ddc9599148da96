package edge

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// net/http writes each response through a 4 KiB buffer per connection
// (not configurable), so a page whose headers and body pass 4 KiB (a
// 3.8 KB page and the edge's 0.8 KB of headers) leaves in two write
// calls: the full buffer in the middle of the handler, and the rest when
// the response ends. That is two trips through the kernel's TCP path and
// two wakeups of the reader for one page, which measured as a quarter of
// the edge's requests per second on such pages.
//
// coalescing holds a write of exactly a full buffer (the only way net/http
// writes 4 KiB while a response is still being made) until the next write,
// and sends both in one writev. The held bytes are sent first whatever
// happens next: another write, a deadline being set (net/http sets the
// write deadline at the end of every response, so a response is complete
// on the wire before the next request is read), a read, a close, a
// sendfile, or at the latest after holdMax (a handler that flushed exactly
// 4 KiB and then waits, like a stream of events).

// bufferedWrite is net/http's per-connection write buffer size.
const bufferedWrite = 4 << 10

// holdMax bounds how long a held write waits for the rest of its response.
const holdMax = time.Millisecond

// coalescingListener wraps accepted connections in coalescingConn.
type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newCoalescingConn(c), nil
}

// coalescingConn is a connection whose full-buffer writes wait for the
// next write (see above).
type coalescingConn struct {
	net.Conn
	holding atomic.Bool // held is not empty (read without the lock)
	mu      sync.Mutex
	held    []byte      // a full buffer not yet sent (a copy: the caller reuses its buffer)
	err     error       // from sending held bytes after the write that gave them returned
	vec     net.Buffers // reused for writev
	arr     [2][]byte   // vec's backing array
	timer   *time.Timer // sends held bytes after holdMax
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c}
	cc.timer = time.AfterFunc(time.Hour, func() {
		cc.mu.Lock()
		cc.sendHeld()
		cc.mu.Unlock()
	})
	cc.timer.Stop()
	return cc
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.held) == 0 {
		if len(p) == bufferedWrite {
			c.held = append(c.held[:0], p...)
			c.holding.Store(true)
			c.timer.Reset(holdMax)
			return len(p), nil
		}
		return c.Conn.Write(p)
	}
	c.timer.Stop()
	c.arr = [2][]byte{c.held, p}
	c.vec = c.arr[:]
	n, err := c.vec.WriteTo(c.Conn)
	held := int64(len(c.held))
	c.held = c.held[:0]
	c.holding.Store(false)
	c.arr = [2][]byte{}
	if n < held {
		if err == nil {
			err = io.ErrShortWrite
		}
		c.err = err
		return 0, err
	}
	return int(n - held), err
}

// sendHeld writes the held bytes, if any; c.mu is held.
func (c *coalescingConn) sendHeld() error {
	if len(c.held) == 0 || c.err != nil {
		return c.err
	}
	c.timer.Stop()
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	c.holding.Store(false)
	if err != nil {
		c.err = err
	}
	return err
}

// flush sends the held bytes before anything else happens on the connection.
func (c *coalescingConn) flush() error {
	if !c.holding.Load() {
		return nil // nothing held: no lock (a read in the background never waits on a write)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendHeld()
}

func (c *coalescingConn) Read(p []byte) (int, error) {
	c.flush()
	return c.Conn.Read(p)
}

func (c *coalescingConn) SetDeadline(t time.Time) error {
	c.flush() // under the deadline that was set when the bytes were written
	return c.Conn.SetDeadline(t)
}

func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.flush()
	return c.Conn.SetWriteDeadline(t)
}

func (c *coalescingConn) SetReadDeadline(t time.Time) error {
	c.flush()
	return c.Conn.SetReadDeadline(t)
}

func (c *coalescingConn) Close() error {
	c.flush()
	c.timer.Stop()
	return c.Conn.Close()
}

// CloseWrite sends what is held, then shuts down writing (net/http's
// graceful close).
func (c *coalescingConn) CloseWrite() error {
	if err := c.flush(); err != nil {
		return err
	}
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps sendfile for large files (net/http uses it when the
// connection has it), after the held bytes.
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}
