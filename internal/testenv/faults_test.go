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
)

// echoServer starts a TCP server on a loopback port that sends back
// whatever it reads, closed at the end of the test.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends msg on c and fails the test unless it comes back.
func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo of %q: got %q, %v", msg, got, err)
	}
}

// stalls sends msg on c and fails the test unless a read then times out:
// the connection is open and nothing answers.
func stalls(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write %q to a black hole: %v", msg, err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	n, err := c.Read(make([]byte, 64))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read from a black hole: %d bytes, %v; want a timeout", n, err)
	}
}

// closed fails the test unless a read on c ends at once with an error
// that is not a timeout (EOF or a reset): the proxy dropped it.
func closed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 64))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read on a dropped connection: %d bytes, %v; want EOF or a reset", n, err)
	}
}

// refused fails the test unless a connection to addr is refused.
func refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want connection refused", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
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
	if p.Addr() != addr {
		t.Fatalf("Addr after Restore = %s, want %s", p.Addr(), addr)
	}
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
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if n, err := strconv.Atoi(strings.TrimPrefix(line, "$")); strings.HasPrefix(line, "$") && err == nil && n >= 0 {
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return fmt.Sprintf("%s %s", line, data[:n])
	}
	return line
}

func TestRedisServer(t *testing.T) {
	r := testenv.StartRedisServer(t)
	addr := r.Addr()
	if addr != "127.0.0.1:"+strconv.Itoa(r.Port()) {
		t.Fatalf("Addr %s does not match Port %d", addr, r.Port())
	}
	if got := redisDo(t, addr, "PING"); got != "+PONG" {
		t.Fatalf("PING = %q", got)
	}
	if got := redisDo(t, addr, "SET k v"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}

	r.Kill()
	refused(t, addr)
	r.Kill() // again: nothing to do

	r.Restart()
	if r.Addr() != addr {
		t.Fatalf("Addr after Restart = %s, want %s", r.Addr(), addr)
	}
	if got := redisDo(t, addr, "GET k"); got != "$-1" {
		t.Fatalf("GET k after a restart = %q, want nothing kept (%q)", got, "$-1")
	}

	r.Stop()
	refused(t, addr)
	r.Restart()
	if got := redisDo(t, addr, "PING"); got != "+PONG" {
		t.Fatalf("PING after Stop and Restart = %q", got)
	}
	r.Restart() // while running: killed and started again
	if got := redisDo(t, addr, "PING"); got != "+PONG" {
		t.Fatalf("PING after a Restart of a running server = %q", got)
	}
}

// TestRedisServerArgs checks that extra arguments override the defaults
// (an append-only file that survives a kill, in the same directory) and
// that a configuration file goes first.
func TestRedisServerArgs(t *testing.T) {
	r := testenv.StartRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	if got := redisDo(t, r.Addr(), "SET k v"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	r.Kill()
	r.Restart()
	if got := redisDo(t, r.Addr(), "GET k"); got != "$1 v" {
		t.Fatalf("GET k after a kill with appendfsync always = %q, want %q", got, "$1 v")
	}

	conf := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(conf, []byte("databases 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testenv.StartRedisServer(t, conf)
	if got := redisDo(t, c.Addr(), "SELECT 3"); got != "+OK" {
		t.Fatalf("SELECT 3 with 4 databases = %q", got)
	}
	if got := redisDo(t, c.Addr(), "SELECT 4"); !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("SELECT 4 with 4 databases = %q, want an error: the configuration file was not read", got)
	}
}
