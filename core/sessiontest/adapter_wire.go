package sessiontest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// wireWait bounds every wait of the wire cases.
const wireWait = 10 * time.Second

// The adapter suite's cases about what reaches the wire: client addresses
// of every form, streamed bodies, hijacked connections and the error
// response of a failed commit. Each is a property every adapter must have,
// so they live here once instead of in every adapter's tests.

// cacheableHeaders are what Do sets with cacheable=1: everything a CDN or
// a browser would use to keep the page.
var cacheableHeaders = [...][2]string{
	{"Cache-Control", "public, max-age=3600"},
	{"Etag", `"kit-v1"`},
	{"Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT"},
	{"Expires", "Mon, 02 Jan 2036 15:04:05 GMT"},
	{"Content-Disposition", "inline; filename=kit.txt"},
	{"Content-Language", "en"},
}

// serveOn serves a's router, with the kit's routes using m, on a new
// listener on the loopback address host, and returns its base URL.
func serveOn(t *testing.T, a Adapter, m *session.Manager, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("sessiontest: cannot listen on %s: %v (the adapter suite needs IPv4 and IPv6 loopback)", host, err)
	}
	t.Cleanup(func() { ln.Close() }) // in case Serve failed before taking it
	a.Serve(t, m, ln)
	return "http://" + ln.Addr().String()
}

// Gates let a kit route wait, inside the server, until the kit's client has
// seen what it needed: the gate's name travels in the query as gate=NAME.
var (
	gateSeq atomic.Uint64
	gates   sync.Map // name → chan struct{}
)

// newGate returns a gate's name and the function that opens it; the test's
// end opens it too, so no handler waits past a failed test.
func newGate(t *testing.T) (name string, open func()) {
	name = strconv.FormatUint(gateSeq.Add(1), 10)
	ch := make(chan struct{})
	gates.Store(name, ch)
	open = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(func() { open(); gates.Delete(name) })
	return name, open
}

// waitGate waits until the named gate opens, for at most 10 s; an unknown
// name does not wait.
func waitGate(name string) {
	if ch, ok := gates.Load(name); ok {
		select {
		case <-ch.(chan struct{}):
		case <-time.After(wireWait):
		}
	}
}

// StreamBody writes the body of the kit's /stream route, whose query is q,
// in parts through flush, which must write its part (nothing for "") and
// flush it to the client at once, the framework's way (http.Flusher,
// http.ResponseController, a fasthttp stream writer's Flush, ...). With
// head=1 in q the first flush carries no body, as event streams start. It
// then waits, up to 10 s, for the kit's client to have read the first part,
// changes s, which is too late to be saved, and writes the last part. It
// returns the first error of flush.
func StreamBody(s *session.Session, q url.Values, flush func(part string) error) error {
	if q.Get("head") == "1" {
		if err := flush(""); err != nil {
			return err
		}
	}
	if err := flush("first;"); err != nil {
		return err
	}
	waitGate(q.Get("gate"))
	s.Set("late", "1")
	return flush("second")
}

// Hijacked is the server's side of the kit's /hijack route once the
// handler has taken over the connection conn (a *bufio.ReadWriter from
// Hijack, or a net.Conn). head is the response header the adapter's writer
// holds, whose Set-Cookie Hijacked sends in a raw 101 response; pass nil
// when the framework has sent the 101 itself (fasthttp's Hijack does). It
// then greets the client, waits for its goodbye, and changes s, which is
// too late to be saved. The caller closes conn.
func Hijacked(s *session.Session, conn io.ReadWriter, head http.Header) error {
	var out bytes.Buffer
	if head != nil {
		out.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: sessiontest\r\n")
		if err := head.Write(&out); err != nil {
			return err
		}
		out.WriteString("\r\n")
	}
	out.WriteString("hello\n")
	if _, err := conn.Write(out.Bytes()); err != nil {
		return err
	}
	if f, ok := conn.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return err
		}
	}
	// Byte by byte, so nothing after the goodbye is taken from conn.
	var line []byte
	for b := make([]byte, 1); len(line) == 0 || line[len(line)-1] != '\n'; line = append(line, b[0]) {
		if _, err := io.ReadFull(conn, b); err != nil {
			return err
		}
	}
	s.Set("late", "1")
	return nil
}

// ipRecorder is a Fingerprint that records the client IP of every call.
type ipRecorder struct {
	mu  sync.Mutex
	ips []string
}

func (r *ipRecorder) fingerprint(id string, x session.Exchange) string {
	r.mu.Lock()
	r.ips = append(r.ips, x.ClientIP())
	r.mu.Unlock()
	return session.FingerprintIDIPUserAgent(id, x)
}

func (r *ipRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ips) == 0 {
		return "(no fingerprint made)"
	}
	return r.ips[len(r.ips)-1]
}

// testClientIPForms checks that every form of client address gives a
// non-empty client IP, in the one form session.CanonicalIP describes, and
// that the session is bound to it: over real HTTP from ::1, and in process
// for the addresses loopback cannot dial (IPv4-mapped, zoned).
func testClientIPForms(t *testing.T, a Adapter) {
	t.Run("ClientIPv6Loopback", func(t *testing.T) {
		rec := &ipRecorder{}
		f := testenv.NewFixture(t, session.WithFingerprint(rec.fingerprint))
		c := newClient(t, serveOn(t, a, f.Manager, "::1"))
		c.do(t, "POST", "/kit/set?k=a&v=1", nil).want(t, 200, "ok")
		if got := rec.last(); got != "::1" {
			t.Fatalf("a client on ::1 has client IP %q, want ::1", got)
		}
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
	})

	t.Run("ClientIPForms", func(t *testing.T) {
		for _, tc := range []struct {
			from, want  string
			same, other []string // addresses of the same client, and of others
		}{
			{"[::1]:1234", "::1", []string{"[::1]:5678"}, []string{"[::2]:1234", "127.0.0.1:1234"}},
			{"[2001:db8::1]:1234", "2001:db8::1", nil, []string{"[2001:db8::2]:1234"}},
			{"[::ffff:192.0.2.1]:1234", "192.0.2.1", []string{"192.0.2.1:5678", "[::ffff:192.0.2.1]:5678"},
				[]string{"192.0.2.2:1234", "[::ffff:192.0.2.2]:1234"}},
			{"[fe80::1%eth0]:1234", "fe80::1%eth0", []string{"[fe80::1%eth0]:5678"},
				[]string{"[fe80::2%eth0]:1234", "[fe80::1%eth1]:1234", "[fe80::1]:1234"}},
			{"192.0.2.1:1234", "192.0.2.1", nil, []string{"192.0.2.10:1234"}},
		} {
			rec := &ipRecorder{}
			f := testenv.NewFixture(t, session.WithFingerprint(rec.fingerprint))
			serve := a.InProcess(t, f.Manager)
			resp := inProcess(t, serve, "POST", "/kit/set?k=a&v=1", tc.from, "")
			body := testenv.ReadBody(t, resp)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("from %s: got %d %q, want 200 ok", tc.from, resp.StatusCode, body)
			}
			if got := rec.last(); got != tc.want {
				t.Errorf("a client at %s has client IP %q, want %q", tc.from, got, tc.want)
			}
			cookie := testenv.SessionCookie(t, resp).Value
			for _, from := range append([]string{tc.from}, tc.same...) {
				resp := inProcess(t, serve, "GET", "/kit/get?k=a", from, cookie)
				if body := testenv.ReadBody(t, resp); resp.StatusCode != 200 || body != "1" {
					t.Errorf("session of %s read from %s: got %d %q, want 200 1", tc.from, from, resp.StatusCode, body)
				}
			}
			for _, from := range tc.other {
				resp := inProcess(t, serve, "GET", "/kit/get?k=a", from, cookie)
				if body := testenv.ReadBody(t, resp); resp.StatusCode != 404 {
					t.Errorf("session of %s replayed from %s: got %d %q, want 404: the clients share a fingerprint",
						tc.from, from, resp.StatusCode, body)
				}
			}
		}
	})
}

// inProcess sends one request through serve as from the client address
// from, with the session cookie value cookie if not empty.
func inProcess(t *testing.T, serve func(*http.Request) *http.Response, method, path, from, cookie string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, "http://kit.test"+path, nil)
	r.RemoteAddr = from
	r.Header.Set("User-Agent", "sessiontest")
	if cookie != "" {
		r.Header.Set("Cookie", session.DefaultCookieName+"="+cookie)
	}
	resp := serve(r)
	if resp == nil {
		t.Fatalf("%s %s from %s: no response", method, path, from)
	}
	return resp
}

// testStreaming checks that a streamed body is not buffered: the cookie
// comes with the first flushed bytes, the parts arrive while the handler is
// still running, the session is saved, and a change made after the headers
// went out is reported and not saved.
func testStreaming(t *testing.T, start func(*testing.T, *session.Manager) string) {
	for name, head := range map[string]string{"StreamingHeadersFirst": "&head=1", "StreamingBodyFirst": ""} {
		t.Run(name, func(t *testing.T) {
			f := testenv.NewFixture(t)
			c := newClient(t, start(t, f.Manager))
			gate, open := newGate(t)
			resp := c.open(t, "/stream?k=s&v=streamed&gate="+gate+head)
			defer resp.Body.Close()
			// The headers are here while the handler waits at the gate.
			ck := cookieByName(resp.Cookies(), session.DefaultCookieName)
			if ck == nil || !session.ValidID(ck.Value) {
				t.Fatalf("the streamed response's headers carry no session cookie: %q", resp.Header.Values("Set-Cookie"))
			}
			first := make([]byte, len("first;"))
			if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first;" {
				t.Fatalf("first part = %q, %v: the body was buffered", first, err)
			}
			open()
			if rest := testenv.ReadBody(t, resp); rest != "second" {
				t.Fatalf("second part = %q, want second", rest)
			}
			c.cookies[session.DefaultCookieName] = ck.Value
			c.do(t, "GET", "/kit/get?k=s", nil).want(t, 200, "streamed")
			f.Log.WaitFor(t, "after the response headers were sent", "late")
			c.do(t, "GET", "/kit/get?k=late", nil).want(t, 404, "missing")
		})
	}

	t.Run("StreamingStoreDown", func(t *testing.T) {
		f := testenv.NewFixture(t)
		base := start(t, f.Manager)
		f.Fail.SetDown(true)
		for _, head := range []string{"&head=1", ""} {
			c := newClient(t, base)
			r := c.do(t, "GET", "/stream?k=s&v=streamed"+head, nil)
			if r.status != http.StatusInternalServerError || strings.Contains(r.body, "first") {
				t.Fatalf("stream%s with the store down: %d %q, want a 500 without the streamed parts", head, r.status, r.body)
			}
			r.noCookie(t)
		}
	})
}

// testHijack checks that a hijacked connection gets the session committed
// before it is handed over, with the new session's cookie in the response
// the new owner sends, and that a change made afterwards is reported and
// not saved; with the store down, the hijack is refused with a 500.
func testHijack(t *testing.T, start func(*testing.T, *session.Manager) string) {
	t.Run("HijackCommitsFirst", func(t *testing.T) {
		f := testenv.NewFixture(t)
		c := newClient(t, start(t, f.Manager))
		conn, br, resp := c.upgrade(t, "/hijack?k=h&v=upgraded")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("hijack: status %d, want 101", resp.StatusCode)
		}
		ck := cookieByName(resp.Cookies(), session.DefaultCookieName)
		if ck == nil || !session.ValidID(ck.Value) {
			t.Fatalf("the 101 response carries no session cookie (Set-Cookie %q): the session was not committed before the hijack",
				resp.Header.Values("Set-Cookie"))
		}
		if line, err := br.ReadString('\n'); err != nil || line != "hello\n" {
			t.Fatalf("hijacked connection said %q, %v", line, err)
		}
		// The handler still holds the connection: only a commit before the
		// hijack can have stored the value.
		c.cookies[session.DefaultCookieName] = ck.Value
		c.do(t, "GET", "/kit/get?k=h", nil).want(t, 200, "upgraded")
		if _, err := io.WriteString(conn, "bye\n"); err != nil {
			t.Fatal(err)
		}
		f.Log.WaitFor(t, "after the response headers were sent", "late")
		c.do(t, "GET", "/kit/get?k=late", nil).want(t, 404, "missing")
	})

	t.Run("HijackStoreDown", func(t *testing.T) {
		f := testenv.NewFixture(t)
		c := newClient(t, start(t, f.Manager))
		f.Fail.SetDown(true)
		conn, br, resp := c.upgrade(t, "/hijack?k=h&v=upgraded")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "hello") {
			t.Fatalf("hijack with the store down: %d %q, want a 500 and no hijacked connection", resp.StatusCode, body)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("unexpected Set-Cookie %q", sc)
		}
		// Nothing may follow the 500: a hijack handler run anyway would
		// greet us.
		if err := conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if more, _ := io.ReadAll(br); len(more) != 0 {
			t.Fatalf("after the 500 the connection was handed over anyway: it said %q", more)
		}
	})
}

// testErrorResponse checks the one error response of a commit that fails
// when the headers are about to go out.
func testErrorResponse(t *testing.T, start func(*testing.T, *session.Manager) string) {
	t.Run("CommitFailureAnswersUncacheable500", func(t *testing.T) {
		f := testenv.NewFixture(t)
		c := newClient(t, start(t, f.Manager))
		f.Fail.SetDown(true)
		r := c.do(t, "POST", "/kit/set?k=a&v=1&cacheable=1", nil) // a new session: only the commit calls the store
		if r.status != http.StatusInternalServerError || strings.Contains(r.body, "cacheable page") ||
			strings.Contains(r.body, testenv.ErrDown.Error()) {
			t.Fatalf("commit with the store down: %d %q, want a 500 without the handler's body or detail", r.status, r.body)
		}
		r.noCookie(t)
		if cc := r.header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
			t.Errorf("the error response has Cache-Control %q, want no-store", cc)
		}
		for _, h := range cacheableHeaders[1:] {
			if v := r.header.Values(h[0]); len(v) != 0 {
				t.Errorf("the error response keeps the handler's %s %q", h[0], v)
			}
		}
	})
}

// open sends a GET for path with the client's cookies and returns the
// response with its body unread.
func (c *client) open(t *testing.T, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", c.ua)
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// upgrade sends a GET for path asking to switch to the kit's protocol, on
// a raw connection closed when the test ends, and returns the connection,
// its reader past the response head, and the response.
func (c *client) upgrade(t *testing.T, path string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, wireWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(wireWait)); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "sessiontest")
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("GET %s with Upgrade: %v", path, err)
	}
	return conn, br, resp
}
