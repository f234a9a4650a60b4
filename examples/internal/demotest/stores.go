package demotest

import (
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// StoreLifetime is the -lifetime the tests give demos on Redis and
// PostgreSQL, so that the sessions they leave behind expire soon.
const StoreLifetime = "10m"

// TestDemo is the whole in-process test of one framework's demo: the
// behaviour test on the memory store (with the default flags), on Redis
// and on PostgreSQL, and the store-failure test. A store that cannot be
// reached fails the test; nothing is skipped.
func TestDemo(t *testing.T, framework string, build demo.BuildFunc) {
	t.Run("Memory", func(t *testing.T) {
		d := Start(t, framework, build)
		NoIDsLogged(t, d, Behaviour(t, d.URL))
	})
	t.Run("Redis", func(t *testing.T) {
		d := Start(t, framework, build, "-store", RedisURL, "-lifetime", StoreLifetime)
		NoIDsLogged(t, d, Behaviour(t, d.URL))
	})
	t.Run("Postgres", func(t *testing.T) {
		d := Start(t, framework, build, "-store", PostgresURL, "-lifetime", StoreLifetime)
		NoIDsLogged(t, d, Behaviour(t, d.URL))
	})
	t.Run("StoreDown", func(t *testing.T) { StoreDown(t, framework, build) })
}

// StoreDown runs the demo on Redis reached through a TCP proxy, cuts the
// proxy, and checks that session routes answer 500 through the
// framework's error path without internal detail and without a cookie,
// that the failure is logged, that /healthz is unaffected, and that the
// session is back once the proxy is.
func StoreDown(t *testing.T, framework string, build demo.BuildFunc) {
	p := StartProxy(t, "127.0.0.1:6379")
	d := Start(t, framework, build, "-store", "redis://"+p.Addr()+"/11?max_retries=-1", "-lifetime", StoreLifetime)
	c := NewClient(t, d.URL)
	c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
	sid := c.SID

	p.SetDown(true)
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/session"}, {"GET", "/api/peek"}, {"GET", "/"}, {"POST", "/api/logout"},
		{"GET", "/api/values/k"}, {"GET", "/api/stream"},
	} {
		r := c.Do(req.method, req.path, "", nil)
		if r.Status != 500 {
			t.Fatalf("%s %s with the store down = %d %q, want 500", req.method, req.path, r.Status, r.Body)
		}
		r.NoCookie()
		low := strings.ToLower(r.Body)
		for _, leak := range []string{"redis", "session", "store", "dial", "refused", "eof", "127.0.0.1", "connection"} {
			if strings.Contains(low, leak) {
				t.Fatalf("%s %s with the store down answered %q, which reveals internals (%q)", req.method, req.path, r.Body, leak)
			}
		}
	}
	// A new session fails when the commit cannot store it, just before
	// the headers go out: the adapter answers 500 instead.
	fresh := c.With(d.URL, "")
	for _, path := range []string{"/api/session", "/api/stream"} {
		if r := fresh.Get(path).NoCookie(); r.Status != 500 {
			t.Fatalf("GET %s for a new session with the store down = %d %q, want 500", path, r.Status, r.Body)
		}
	}
	c.Get("/healthz").Want(200, ctText, "ok\n").NoCookie()
	if testing.Verbose() {
		t.Logf("log with the store down:\n%s", d.Log())
	}
	if !regexp.MustCompile(`level=ERROR .*session: store error: load: `).MatchString(d.Log()) {
		t.Fatalf("the store failure was not logged with its cause:\n%s", d.Log())
	}

	p.SetDown(false)
	if c.SID != sid {
		t.Fatal("the cookie changed while the store was down")
	}
	c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
	NoIDsLogged(t, d, c.Seen())
}

// Proxy is a TCP proxy to a real server that a test can cut: while down
// it drops every open connection and closes new ones at once, so clients
// see the server fail without the server being touched.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// StartProxy starts a Proxy to target on a loopback port, stopped at the
// end of the test.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.SetDown(true)
		p.wg.Wait()
	})
	return p
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown cuts the proxy (dropping every connection) or restores it.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}

// track registers c unless the proxy is down; it reports whether it did.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	defer p.untrack(c)
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(s) {
		s.Close()
		return
	}
	defer p.untrack(s)
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); s.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, s); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}
