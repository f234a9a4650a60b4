// Package demotest checks the sessionkit demo apps over real HTTP. One
// behaviour test, Behaviour, runs unchanged against every framework's demo,
// which proves the four behave identically; Start runs a demo in-process
// on a loopback listener for it.
//
//	func TestDemo(t *testing.T) {
//		d := demotest.Start(t, "nethttp", newServer)
//		demotest.Behaviour(t, d.URL)
//	}
package demotest

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// StreamInterval is the /api/stream interval Start gives the demos: short,
// so tests are quick, yet long enough that the lines are written apart.
const StreamInterval = 20 * time.Millisecond

// RedisURL and PostgresURL are the stores the tests use: the services of
// the project's test machine. Redis database 11 is the examples' own
// (the store tests use 0 with prefixes, the benchmarks 12).
const (
	RedisURL    = "redis://127.0.0.1:6379/11"
	PostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Demo is a demo app started by Start.
type Demo struct {
	// URL is the base URL, such as "http://127.0.0.1:43210".
	URL string
	log *LogBuffer
	ln  *countingListener
}

// Log returns what the demo has logged so far.
func (d *Demo) Log() string { return d.log.String() }

// ServerRead returns how many bytes the demo has read from the connection
// whose client end is conn, or -1 if it never accepted it.
func (d *Demo) ServerRead(conn net.Conn) int64 {
	d.ln.mu.Lock()
	defer d.ln.mu.Unlock()
	if n, ok := d.ln.read[conn.LocalAddr().String()]; ok {
		return n.Load()
	}
	return -1
}

// countingListener counts the bytes the server reads from each connection
// it accepts, by the client's address, so that a test can tell how much of
// a request body the demo read.
type countingListener struct {
	net.Listener
	mu   sync.Mutex
	read map[string]*atomic.Int64
}

// Accept implements net.Listener.
func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := new(atomic.Int64)
	l.mu.Lock()
	l.read[c.RemoteAddr().String()] = n
	l.mu.Unlock()
	return &countingConn{Conn: c, n: n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// CloseWrite lets net/http half-close the connection after a refusal, as
// it does on a bare TCP connection.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Start runs the demo of framework, built by build, in this process on a
// fresh 127.0.0.1:0 listener with the command line args (plus a short
// -stream-interval), waits until it logs that it listens, and shuts it
// down gracefully at the end of the test, failing the test if the
// shutdown is not clean. Without a -store argument the demo uses the
// memory store. The listener counts what the demo reads from each
// connection (Demo.ServerRead).
func Start(t testing.TB, framework string, build demo.BuildFunc, args ...string) *Demo {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &countingListener{Listener: tcp, read: map[string]*atomic.Int64{}}
	addr := ln.Addr().String()
	log := NewLogBuffer("listening on ")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Framework: framework,
			Args:      append([]string{"-stream-interval", StreamInterval.String()}, args...),
			Build:     build,
			Listener:  ln,
			Log:       log,
		})
	}()
	select {
	case <-log.Seen():
	case err := <-done:
		cancel()
		// Fail, not NoError: Run returning at all, even nil, is the failure.
		require.Fail(t, "the demo did not start",
			"demo %s %q: Run returned %v\n(the tests need the real Redis and PostgreSQL of the brief; scripts/services.sh starts them)\nlog:\n%s",
			framework, args, err, log)
	case <-time.After(30 * time.Second):
		cancel()
		require.Fail(t, "the demo did not log that it listens", "demo %s %q\nlog:\n%s", framework, args, log)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "demo %s %q: shutdown\nlog:\n%s", framework, args, log)
		case <-time.After(30 * time.Second):
			assert.Fail(t, "the demo did not shut down", "demo %s %q\nlog:\n%s", framework, args, log)
		}
	})
	want := "listening on http://" + addr + " (framework " + framework + ", store "
	require.Contains(t, log.String(), want, "demo log lacks its start line")
	return &Demo{URL: "http://" + addr, log: log, ln: ln}
}

// LogBuffer collects a demo's log. It is safe for concurrent writes and
// signals when a marker was first written.
type LogBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

var _ io.Writer = (*LogBuffer)(nil)

// NewLogBuffer returns an empty LogBuffer watching for marker.
func NewLogBuffer(marker string) *LogBuffer {
	return &LogBuffer{marker: marker, seen: make(chan struct{})}
}

// Write implements io.Writer.
func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if bytes.Contains(s.b.Bytes(), []byte(s.marker)) {
		s.once.Do(func() { close(s.seen) })
	}
	return len(p), nil
}

// Seen is closed once the marker has been written.
func (s *LogBuffer) Seen() <-chan struct{} { return s.seen }

// String returns everything written so far.
func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// NoIDsLogged fails the test if ids is empty or if the demo's log holds
// any of them: session IDs are credentials and must never be logged.
func NoIDsLogged(t testing.TB, d *Demo, ids []string) {
	t.Helper()
	require.NotEmpty(t, ids, "the behaviour test saw no session ID")
	log := d.Log()
	for _, id := range ids {
		require.NotContains(t, log, id, "the demo logged a session ID")
	}
}
