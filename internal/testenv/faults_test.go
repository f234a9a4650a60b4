package testenv_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/require"
)

// echoServer starts a TCP server on a loopback port that sends back
// whatever it reads, closed at the end of the test.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends msg on c and fails the test unless it comes back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	_, err := io.WriteString(c, msg)
	require.NoError(t, err, "write %q", msg)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err, "echo of %q", msg)
	require.Equal(t, msg, string(got), "echo of %q", msg)
}

// stalls sends msg on c and fails the test unless a read then times out:
// the connection is open and nothing answers.
func stalls(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_, err := io.WriteString(c, msg)
	require.NoError(t, err, "write %q to a black hole", msg)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	n, err := c.Read(make([]byte, 64))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "read from a black hole: %d bytes, %v; want a timeout", n, err)
}

// closed fails the test unless a read on c ends at once with an error
// that is not a timeout (EOF or a reset): the proxy dropped it.
func closed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 64))
	require.Error(t, err, "read on a dropped connection: %d bytes; want EOF or a reset", n)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "read on a dropped connection timed out; want EOF or a reset")
}

// refused fails the test unless a connection to addr is refused.
func refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
	}
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "dial %s", addr)
}

func TestProxy(t *testing.T) {
	p := testenv.StartProxy(t, echoServer(t))
	addr := p.Addr()

	before := dial(t, addr)
	echo(t, before, "hello")

	p.Cut()
	closed(t, before)
	refused(t, addr)
	p.Cut() // again: nothing changes
	refused(t, addr)

	p.Restore()
	require.Equal(t, addr, p.Addr(), "Addr after Restore")
	forwarded := dial(t, addr)
	echo(t, forwarded, "again")

	// A black hole stops forwarding on open connections and holds new ones.
	p.BlackHole()
	stalls(t, forwarded, "anyone?")
	held := dial(t, addr)
	stalls(t, held, "hello?")
	p.BlackHole() // again: nothing changes
	stalls(t, held, "still?")

	// Restore drops what the black hole held and forwards new connections.
	p.Restore()
	closed(t, forwarded)
	closed(t, held)
	echo(t, dial(t, addr), "back")

	// A black hole after a cut listens again on the same address.
	p.Cut()
	refused(t, addr)
	p.BlackHole()
	stalls(t, dial(t, addr), "hole")
	p.Cut()
	refused(t, addr)
	p.Restore()
	echo(t, dial(t, addr), "restored")
}

// TestProxyTargetDown checks that a proxy whose target does not answer
// closes its clients' connections.
func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	ln.Close()
	p := testenv.StartProxy(t, target)
	closed(t, dial(t, p.Addr()))
}

// TestProxyUnderTraffic switches the proxy between its states while
// clients dial and echo through it (for the race detector), then checks
// that it forwards at the end.
func TestProxyUnderTraffic(t *testing.T) {
	p := testenv.StartProxy(t, echoServer(t))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			msg := []byte("client " + strconv.Itoa(i))
			buf := make([]byte, len(msg))
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				c.SetDeadline(time.Now().Add(50 * time.Millisecond))
				for range 5 {
					if _, err := c.Write(msg); err != nil {
						break
					}
					if _, err := io.ReadFull(c, buf); err != nil {
						break
					}
				}
				c.Close()
			}
		})
	}
	for i := range 30 {
		switch i % 3 {
		case 0:
			p.Cut()
		case 1:
			p.BlackHole()
		case 2:
			p.Restore()
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	p.Restore()
	echo(t, dial(t, p.Addr()), "after the storm")
}

// redisDo sends one inline command to the Redis server at addr and
// returns its reply: a status, error or integer line as it is, a bulk
// string as "$n data".
func redisDo(t *testing.T, addr, cmd string) string {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c, cmd+"\r\n")
	require.NoError(t, err, cmd)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	require.NoError(t, err, cmd)
	line = strings.TrimSuffix(line, "\r\n")
	if n, err := strconv.Atoi(strings.TrimPrefix(line, "$")); strings.HasPrefix(line, "$") && err == nil && n >= 0 {
		data := make([]byte, n+2)
		_, err := io.ReadFull(r, data)
		require.NoError(t, err, cmd)
		return fmt.Sprintf("%s %s", line, data[:n])
	}
	return line
}

func TestRedisServer(t *testing.T) {
	r := testenv.StartRedisServer(t)
	addr := r.Addr()
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(r.Port()), addr, "Addr does not match Port")
	require.Equal(t, "+PONG", redisDo(t, addr, "PING"), "PING")
	require.Equal(t, "+OK", redisDo(t, addr, "SET k v"), "SET")

	r.Kill()
	refused(t, addr)
	r.Kill() // again: nothing to do

	r.Restart()
	require.Equal(t, addr, r.Addr(), "Addr after Restart")
	require.Equal(t, "$-1", redisDo(t, addr, "GET k"), "GET k after a restart: nothing is kept")

	r.Stop()
	refused(t, addr)
	r.Restart()
	require.Equal(t, "+PONG", redisDo(t, addr, "PING"), "PING after Stop and Restart")
	r.Restart() // while running: killed and started again
	require.Equal(t, "+PONG", redisDo(t, addr, "PING"), "PING after a Restart of a running server")
}

// TestRedisServerArgs checks that extra arguments override the defaults
// (an append-only file that survives a kill, in the same directory) and
// that a configuration file goes first.
func TestRedisServerArgs(t *testing.T) {
	r := testenv.StartRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	require.Equal(t, "+OK", redisDo(t, r.Addr(), "SET k v"), "SET")
	r.Kill()
	r.Restart()
	require.Equal(t, "$1 v", redisDo(t, r.Addr(), "GET k"), "GET k after a kill with appendfsync always")

	conf := filepath.Join(t.TempDir(), "redis.conf")
	require.NoError(t, os.WriteFile(conf, []byte("databases 4\n"), 0o600))
	c := testenv.StartRedisServer(t, conf)
	require.Equal(t, "+OK", redisDo(t, c.Addr(), "SELECT 3"), "SELECT 3 with 4 databases")
	got := redisDo(t, c.Addr(), "SELECT 4")
	require.True(t, strings.HasPrefix(got, "-ERR"), "SELECT 4 with 4 databases = %q, want an error: the configuration file was not read", got)
}
