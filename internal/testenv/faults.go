package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Fault injection for store tests: a TCP proxy that can be cut or turned
// into a black hole, and a private redis-server that can be killed and
// started again. Both are real (loopback TCP, a real child process) and
// every wait they make is bounded.

// faultWait bounds every wait of the fault helpers: for goroutines to
// stop, a process to exit or a server to answer.
const faultWait = 10 * time.Second

// Proxy is a TCP proxy on a loopback port in front of a real server, which
// a test can cut, turn into a black hole and restore, always on the same
// address, so that clients see the server fail (or stall) without the
// server being touched. Its methods are safe for concurrent use; those that
// can fail the test (BlackHole and Restore, when the address cannot be
// listened on again) must be called from the test's goroutine.
type Proxy struct {
	t      testing.TB
	target string
	addr   string // fixed for the proxy's life

	ctl sync.Mutex // serialises Cut, BlackHole and Restore

	mu    sync.Mutex // guards the fields below and every proxyConn's fields
	ln    net.Listener
	hole  bool // new connections are held, not forwarded
	conns map[*proxyConn]struct{}
	wg    sync.WaitGroup // the accept loop and the forwarding goroutines
}

// proxyConn is one client connection of a Proxy.
type proxyConn struct {
	c    net.Conn      // the client's connection
	up   net.Conn      // the target's, while forwarding
	held bool          // a black hole holds it: nothing is forwarded
	done chan struct{} // closed when nothing forwards on it any more
}

// StartProxy starts a Proxy that listens on 127.0.0.1:0 and forwards every
// connection to target. It is cut when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sessiontest: proxy: %v", err)
	}
	p := &Proxy{t: t, target: target, addr: ln.Addr().String(), conns: make(map[*proxyConn]struct{})}
	p.serve(ln)
	t.Cleanup(p.Cut)
	return p
}

// Addr returns the proxy's host:port, the same for its whole life.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes the listener and every open connection, forwarded or held,
// and returns once the proxy's goroutines have stopped: existing clients
// see their connections reset or closed, new ones are refused.
func (p *Proxy) Cut() {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for pc := range p.conns {
		pc.c.Close()
		if pc.up != nil {
			pc.up.Close()
		}
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wait(func() { p.wg.Wait() }, "the proxy's goroutines to stop")
}

// BlackHole makes the proxy a stalled server: it accepts connections (on
// the same address, listening again if it was cut) and never forwards or
// answers, and it stops forwarding the connections it had, keeping them
// open. Clients wait until their own deadline. It returns once nothing is
// forwarded any more.
func (p *Proxy) BlackHole() {
	p.t.Helper()
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	p.hole = true
	var stopping []chan struct{}
	now := time.Now()
	for pc := range p.conns {
		if pc.held {
			continue
		}
		pc.held = true
		if pc.up != nil {
			// Stop both copies: the target's side is gone, and the
			// client's side must not be read from or written to again.
			pc.up.Close()
			pc.c.SetDeadline(now)
		}
		stopping = append(stopping, pc.done)
	}
	listening := p.ln != nil
	p.mu.Unlock()
	for _, done := range stopping {
		p.wait(func() { <-done }, "a forwarded connection to stop")
	}
	if !listening {
		p.listen()
	}
}

// Restore makes the proxy forward again, listening again on the same
// address if it was cut. The connections a black hole held are closed:
// what their clients sent was lost, so they must start again.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	p.hole = false
	for pc := range p.conns {
		if pc.held {
			pc.c.Close()
			delete(p.conns, pc)
		}
	}
	listening := p.ln != nil
	p.mu.Unlock()
	if !listening {
		p.listen()
	}
}

// listen listens on the proxy's address again. The port may linger a
// moment after the close, so it retries for up to a second.
func (p *Proxy) listen() {
	p.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("sessiontest: proxy: listen again on %s: %v", p.addr, err)
}

// serve makes ln the proxy's listener and accepts on it until it closes.
func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			pc := &proxyConn{c: c, done: make(chan struct{})}
			p.mu.Lock()
			switch {
			case p.ln != ln: // cut meanwhile
				c.Close()
			case p.hole:
				pc.held = true
				close(pc.done)
				p.conns[pc] = struct{}{}
			default:
				p.conns[pc] = struct{}{}
				p.wg.Add(1) // the accept loop's own count keeps this from racing Wait
				go p.forward(pc)
			}
			p.mu.Unlock()
		}
	}()
}

// forward dials the target for pc and copies both ways until either side
// closes, the proxy is cut or a black hole stops it.
func (p *Proxy) forward(pc *proxyConn) {
	defer p.wg.Done()
	defer close(pc.done)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	p.mu.Lock()
	_, live := p.conns[pc]
	switch {
	case !live: // cut while dialling; Cut closed pc.c
		p.mu.Unlock()
		if up != nil {
			up.Close()
		}
		return
	case pc.held: // a black hole while dialling: keep the client waiting
		p.mu.Unlock()
		if up != nil {
			up.Close()
		}
		return
	case err != nil: // the target is down: the client sees a closed connection
		delete(p.conns, pc)
		p.mu.Unlock()
		pc.c.Close()
		return
	}
	pc.up = up
	p.mu.Unlock()

	copied := make(chan struct{}, 2)
	go func() { io.Copy(up, pc.c); copied <- struct{}{} }()
	go func() { io.Copy(pc.c, up); copied <- struct{}{} }()
	<-copied // one side closed, or Cut or BlackHole stopped it
	p.mu.Lock()
	up.Close()
	if !pc.held {
		pc.c.Close()
		delete(p.conns, pc)
	}
	p.mu.Unlock()
	<-copied // both connections' reads now fail at once
}

// wait runs f and fails the test if it has not returned within faultWait.
func (p *Proxy) wait(f func(), what string) {
	p.t.Helper()
	if !waitFor(f) {
		p.t.Errorf("sessiontest: proxy %s: still waiting for %s after %v", p.addr, what, faultWait)
	}
}

// waitFor runs f and reports whether it returned within faultWait.
func waitFor(f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(faultWait):
		return false
	}
}

// RedisServer is a private redis-server, run by the test as a child process
// on a free loopback port, which the test can kill (or stop) and start
// again on the same port with the same arguments and working directory.
// Its methods must be called from the test's goroutine.
type RedisServer struct {
	t    testing.TB
	port int
	args []string

	mu     sync.Mutex // guards the fields below
	cmd    *exec.Cmd
	exited chan struct{}
	out    *tailBuffer // the server's output, for failure messages
}

// StartRedisServer runs redis-server on a free 127.0.0.1 port, in a
// temporary directory of its own, persisting nothing (--save "" and
// --appendonly no), with args appended to its command line: later options
// override earlier ones, so "--appendonly", "yes" makes it persist after
// all. As on redis-server's own command line, a first argument that does
// not begin with "-" names a configuration file, passed first (a Sentinel
// needs one). It waits until the server answers PING and fails the test if
// redis-server is not installed or does not start. The server is killed
// when the test ends.
func StartRedisServer(t testing.TB, args ...string) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("sessiontest: this test runs its own redis-server, which is not installed (apt-get install redis-server): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sessiontest: no free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	var cmdline []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmdline, args = append(cmdline, args[0]), args[1:]
	}
	cmdline = append(cmdline, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(),
		"--daemonize", "no", "--protected-mode", "yes")
	r := &RedisServer{t: t, port: port, args: append(cmdline, args...)}
	t.Cleanup(r.Kill)
	r.start()
	return r
}

// Addr returns the server's host:port.
func (r *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Port returns the server's port.
func (r *RedisServer) Port() int { return r.port }

// Kill kills the server with SIGKILL (no shutdown, no save) and waits for
// it to exit. It does nothing if the server is not running.
func (r *RedisServer) Kill() { r.signal(syscall.SIGKILL) }

// Stop shuts the server down with SIGTERM (it closes its clients'
// connections and exits; it saves only if its arguments ask it to) and
// waits for it to exit, killing it if it has not within 10 s. It does
// nothing if the server is not running.
func (r *RedisServer) Stop() { r.signal(syscall.SIGTERM) }

// Restart starts the server again on the same port with the same
// arguments and directory (killing it first if it is running) and waits
// until it answers PING. What it held is gone unless its arguments made it
// persist (such as "--appendonly", "yes").
func (r *RedisServer) Restart() {
	r.t.Helper()
	r.Kill()
	r.start()
}

func (r *RedisServer) signal(sig syscall.Signal) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(sig)
	if !waitFor(func() { <-r.exited }) {
		r.cmd.Process.Kill()
		if !waitFor(func() { <-r.exited }) {
			r.t.Errorf("sessiontest: redis-server on port %d did not exit after %v:\n%s", r.port, sig, r.out)
		}
	}
	r.cmd = nil
}

// start starts the server and waits until it answers PING.
func (r *RedisServer) start() {
	r.t.Helper()
	r.mu.Lock()
	out := new(tailBuffer)
	cmd := exec.Command("redis-server", r.args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		r.t.Fatalf("sessiontest: starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.cmd, r.exited, r.out = cmd, exited, out
	r.mu.Unlock()

	deadline := time.Now().Add(faultWait)
	for {
		err := pingRedis(r.Addr())
		if err == nil {
			return
		}
		select {
		case <-exited:
			r.mu.Lock()
			r.cmd = nil
			r.mu.Unlock()
			r.t.Fatalf("sessiontest: redis-server on port %d exited at start (port taken?):\n%s", r.port, out)
		default:
		}
		if time.Now().After(deadline) {
			r.Kill()
			r.t.Fatalf("sessiontest: redis-server on port %d does not answer PING after %v: %v\n%s", r.port, faultWait, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pingRedis sends PING to the server at addr over a fresh connection and
// returns nil if it answers +PONG (a loading server answers -LOADING).
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// tailBuffer keeps the last 16 KiB written to it; it is safe for
// concurrent use.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 16 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if len(b.b) > tailMax {
		b.b = append(b.b[:0], b.b[len(b.b)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}
