package sessiontest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// Do performs the kit operation op on s with the query parameters q and
// returns the status and plain-text body the adapter must answer with;
// header, if not nil, sets a response header (w.Header().Set, c.Set,
// ...), and Do calls it only before it returns. Adapters mount it, and the
// kit's other routes, through their real router, as
//
//	GET and POST /kit/{op}   load the session with the adapter's accessor; on
//	                         an error take the framework's error path and
//	                         then, as a careless handler would, try to write
//	                         "ignored" (which must not reach the client);
//	                         else answer Do(sess, op, query, header) as
//	                         text/plain
//	GET and POST /for/{op}   the same with DoFor and the adapter's accessor
//	                         for a given Manager (GetFor)
//	GET /untouched           answer 200 "ok" without touching the session
//	GET /stream              load the session (on an error take the error
//	                         path), Do(sess, "set", query, header), then
//	                         answer 200 text/plain with StreamBody
//	GET /hijack              load the session, Do(sess, "set", query,
//	                         header), answer 101 with Upgrade: sessiontest
//	                         and take over the connection the framework's
//	                         way, then run Hijacked on it; if the framework
//	                         refuses the hijack, return (the adapter has
//	                         answered)
//
// The operations: get?k=K (200 value or 404), set?k=K&v=V, del?k=K,
// incr?k=K, regenerate, destroy, destroy-set?k=K&v=V (log out, then set),
// flash-add?v=V, flash-get, new (is the session new: "true" or "false").
// With cacheable=1 in q, Do also sets headers that let a cache keep the
// response (Cache-Control, ETag, Last-Modified, Expires, ...) and answers
// "cacheable page".
func Do(s *session.Session, op string, q url.Values, header func(key, value string)) (status int, body string) {
	k, v := q.Get("k"), q.Get("v")
	if q.Get("cacheable") == "1" && header != nil {
		defer func() {
			for _, h := range cacheableHeaders {
				header(h[0], h[1])
			}
			body = "cacheable page"
		}()
	}
	switch op {
	case "get":
		val, ok := s.Get(k), s.Has(k)
		if !ok {
			return http.StatusNotFound, "missing"
		}
		return http.StatusOK, fmt.Sprint(val)
	case "set":
		s.Set(k, v)
	case "del":
		s.Delete(k)
	case "incr":
		return http.StatusOK, strconv.Itoa(s.Incr(k, 1))
	case "regenerate":
		s.Regenerate()
	case "destroy":
		s.Destroy()
	case "destroy-set":
		s.Destroy()
		s.Set(k, v)
	case "flash-add":
		s.AddFlash(v)
	case "flash-get":
		var parts []string
		for _, f := range s.Flashes() {
			parts = append(parts, fmt.Sprint(f))
		}
		return http.StatusOK, strings.Join(parts, ",")
	case "new":
		return http.StatusOK, strconv.FormatBool(s.IsNew())
	default:
		return http.StatusNotFound, "no such kit operation"
	}
	return http.StatusOK, "ok"
}

// Adapter is what TestAdapter needs from an adapter's tests: its real
// router, with the kit's routes (see Do) using a given Manager, served over
// real HTTP and, for client addresses that cannot be dialled on loopback,
// in process. The router must trust no proxy.
type Adapter struct {
	// Serve serves the router on ln, a loopback listener the kit opened
	// (on 127.0.0.1 or on ::1), until the test ends: it must stop the
	// server with t.Cleanup.
	Serve func(t *testing.T, m *session.Manager, ln net.Listener)

	// InProcess returns the router as a function that serves one request
	// in process (httptest.NewRecorder and ServeHTTP, or fasthttp's
	// RequestCtx.Init) and returns the response. The router must see
	// r.RemoteAddr as the address of the client's connection.
	InProcess func(t *testing.T, m *session.Manager) func(r *http.Request) *http.Response

	// ServeTwo is Serve with the session middlewares of two Managers on
	// every route, outer's first (outside) and inner's second, as for a
	// login session and a preferences session with cookies of their own.
	ServeTwo func(t *testing.T, outer, inner *session.Manager, ln net.Listener)
}

// TestAdapter proves an adapter's behaviour through its real router over
// real HTTP: cookie flags, persistence, laziness, regenerate, destroy,
// fingerprint binding (IPv4, IPv6, IPv4-mapped and zoned client
// addresses), hostile cookies, concurrent requests on one session,
// streaming, hijacking, two Managers on one route, and the error path
// when the store is down or holds a corrupt record.
func TestAdapter(t *testing.T, a Adapter) {
	t.Helper()
	// start serves the router on 127.0.0.1 and returns its base URL.
	start := func(t *testing.T, m *session.Manager) string {
		t.Helper()
		return serveOn(t, a, m, "127.0.0.1")
	}
	newManager := func(t *testing.T, opts ...session.Option) (*session.Manager, *testenv.CountingStore, *testenv.FailingStore) {
		t.Helper()
		mem, err := session.NewMemoryStore()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mem.Close() })
		fail := testenv.NewFailingStore(mem)
		count := testenv.NewCountingStore(fail)
		m, err := session.NewManager(append([]session.Option{session.WithStore(count), session.WithLogger(discardLogger)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return m, count, fail
	}

	t.Run("CookieFlagsDefault", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		r := c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		r.want(t, 200, "ok")
		ck := r.cookie(t, "sid")
		if !session.ValidID(ck.Value) || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode ||
			ck.Path != "/" || ck.Domain != "" || ck.MaxAge != 0 || ck.Partitioned {
			t.Fatalf("default cookie = %q, want a valid ID, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain, no Max-Age", r.setCookies)
		}
	})

	t.Run("CookieFlagsConfigured", func(t *testing.T) {
		m, _, _ := newManager(t, session.WithCookieName("__Host-app"), session.WithPersistentCookie(true),
			session.WithCookieSameSite(http.SameSiteStrictMode), session.WithCookiePartitioned(true),
			session.WithLifetime(time.Hour))
		c := newClient(t, start(t, m))
		r := c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		ck := r.cookie(t, "__Host-app")
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || !ck.Partitioned ||
			ck.MaxAge < 3500 || ck.MaxAge > 3600 {
			t.Fatalf("configured cookie = %q, want HttpOnly, Secure, SameSite=Strict, Partitioned, Max-Age≈3600", r.setCookies)
		}
		m2, _, _ := newManager(t, session.WithCookieSecure(false), session.WithCookieHTTPOnly(false),
			session.WithCookiePath("/app"), session.WithCookieDomain("example.test"))
		c2 := newClient(t, start(t, m2))
		ck2 := c2.do(t, "POST", "/kit/set?k=a&v=1", nil).cookie(t, "sid")
		if ck2.Secure || ck2.HttpOnly || ck2.Path != "/app" || ck2.Domain != "example.test" {
			t.Fatalf("cookie = %+v, want not Secure, not HttpOnly, Path=/app, Domain=example.test", ck2)
		}
	})

	t.Run("Persist", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=hello", nil).want(t, 200, "ok")
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "hello")
		c.do(t, "GET", "/kit/incr?k=n", nil).want(t, 200, "1")
		c.do(t, "GET", "/kit/incr?k=n", nil).want(t, 200, "2")
		c.do(t, "POST", "/kit/del?k=a", nil).want(t, 200, "ok")
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 404, "missing")
		c.do(t, "GET", "/kit/get?k=n", nil).want(t, 200, "2")
		c.do(t, "GET", "/kit/new", nil).want(t, 200, "false")
	})

	t.Run("LazyAndReadOnly", func(t *testing.T) {
		m, count, _ := newManager(t)
		c := newClient(t, start(t, m))
		r := c.do(t, "GET", "/untouched", nil)
		r.want(t, 200, "ok")
		r.noCookie(t)
		r = c.do(t, "GET", "/kit/get?k=a", nil)
		r.want(t, 404, "missing")
		r.noCookie(t)
		if n := count.Total(); n != 0 {
			t.Fatalf("untouched and read-only new sessions made %d store calls, want 0", n)
		}
		c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		before := count.Total()
		c.do(t, "GET", "/untouched", nil).noCookie(t)
		if n := count.Total() - before; n != 0 {
			t.Fatalf("an untouched request with a session cookie made %d store calls, want 0", n)
		}
		g0, s0, _ := count.Calls()
		r = c.do(t, "GET", "/kit/get?k=a", nil)
		r.want(t, 200, "1")
		r.noCookie(t)
		g1, s1, _ := count.Calls()
		if g1-g0 != 1 || s1 != s0 {
			t.Fatalf("a read made %d gets and %d sets, want 1 and 0", g1-g0, s1-s0)
		}
	})

	t.Run("Regenerate", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=user&v=ann", nil)
		old := c.cookies["sid"]
		r := c.do(t, "POST", "/kit/regenerate", nil)
		r.want(t, 200, "ok")
		ck := r.cookie(t, "sid")
		if ck.Value == old || !session.ValidID(ck.Value) {
			t.Fatal("regenerate did not issue a new valid ID")
		}
		c.do(t, "GET", "/kit/get?k=user", nil).want(t, 200, "ann")
		stale := newClient(t, c.base)
		stale.cookies["sid"] = old
		stale.do(t, "GET", "/kit/get?k=user", nil).want(t, 404, "missing")
	})

	t.Run("Destroy", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=user&v=ann", nil)
		old := c.cookies["sid"]
		r := c.do(t, "POST", "/kit/destroy", nil)
		r.want(t, 200, "ok")
		if ck := r.cookie(t, "sid"); ck.MaxAge >= 0 || ck.Value != "" {
			t.Fatalf("destroy cookie = %q, want an empty value with Max-Age=0", r.setCookies)
		}
		if n := liveRecords(t, m.Store()); n != 0 {
			t.Fatalf("after destroy the store holds %d records", n)
		}
		replay := newClient(t, c.base)
		replay.cookies["sid"] = old
		replay.do(t, "GET", "/kit/get?k=user", nil).want(t, 404, "missing")
		// Log out, then leave a flash: saved under a fresh ID.
		c2 := newClient(t, c.base)
		c2.do(t, "POST", "/kit/set?k=user&v=bob", nil)
		old2 := c2.cookies["sid"]
		c2.do(t, "POST", "/kit/destroy-set?k=bye&v=1", nil).want(t, 200, "ok")
		if c2.cookies["sid"] == old2 || !session.ValidID(c2.cookies["sid"]) {
			t.Fatal("a value set after destroy was not saved under a fresh ID")
		}
		c2.do(t, "GET", "/kit/get?k=bye", nil).want(t, 200, "1")
		c2.do(t, "GET", "/kit/get?k=user", nil).want(t, 404, "missing")
	})

	t.Run("Flash", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/flash-add?v=saved", nil)
		c.do(t, "POST", "/kit/flash-add?v=again", nil)
		c.do(t, "GET", "/kit/flash-get", nil).want(t, 200, "saved,again")
		c.do(t, "GET", "/kit/flash-get", nil).want(t, 200, "")
	})

	t.Run("FingerprintUserAgent", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.ua = "agent-A"
		c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		thief := newClient(t, c.base)
		thief.ua = "agent-B"
		thief.cookies["sid"] = c.cookies["sid"]
		thief.do(t, "GET", "/kit/get?k=a", nil).want(t, 404, "missing")
		r := thief.do(t, "POST", "/kit/set?k=b&v=2", nil)
		if ck := r.cookie(t, "sid"); ck.Value == c.cookies["sid"] {
			t.Fatal("a replayed cookie from another client was adopted")
		}
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
		c.do(t, "GET", "/kit/get?k=b", nil).want(t, 404, "missing")
	})

	t.Run("FingerprintClientIP", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		other := newClient(t, c.base)
		other.fromIP("127.0.0.2")
		other.cookies["sid"] = c.cookies["sid"]
		other.do(t, "GET", "/kit/get?k=a", nil).want(t, 404, "missing")
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
	})

	t.Run("ForwardedHeadersIgnored", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=1", http.Header{"X-Forwarded-For": {"203.0.113.1"}})
		// With no trusted proxy a client cannot move its fingerprint by
		// claiming another address.
		for _, h := range []http.Header{
			{"X-Forwarded-For": {"203.0.113.99"}},
			{"X-Real-Ip": {"203.0.113.99"}},
			{"Forwarded": {"for=203.0.113.99"}},
			{"X-Forwarded-For": {"127.0.0.2"}, "X-Real-Ip": {"127.0.0.2"}},
		} {
			c.do(t, "GET", "/kit/get?k=a", h).want(t, 200, "1")
		}
	})

	t.Run("HostileCookies", func(t *testing.T) {
		m, count, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		valid := c.cookies["sid"]
		unknown := strings.Repeat("A", session.IDLength-1) + "A"
		for name, raw := range map[string]string{
			"garbage":         "sid=%%%not-an-id%%%",
			"empty":           "sid=",
			"truncated":       "sid=" + valid[:session.IDLength-1],
			"overlong":        "sid=" + valid + "A",
			"oversized":       "sid=" + strings.Repeat("x", 8<<10),
			"non-ascii":       "sid=" + strings.Repeat("é", session.IDLength/2) + "x",
			"unknown":         "sid=" + unknown,
			"non-canonical":   "sid=" + valid[:session.IDLength-1] + "B",
			"duplicate":       "sid=" + valid + "; sid=" + unknown,
			"duplicate-trash": "sid=garbage; sid=" + valid,
		} {
			before := count.Total()
			x := newClient(t, c.base)
			r := x.doRaw(t, "GET", "/kit/new", raw, nil)
			r.want(t, 200, "true")
			r.noCookie(t)
			if name != "unknown" && count.Total() != before {
				t.Errorf("%s: a malformed cookie reached the store", name)
			}
			r = x.doRaw(t, "POST", "/kit/set?k=z&v=1", raw, nil)
			r.want(t, 200, "ok")
			if got := r.cookie(t, "sid").Value; got == unknown || got == valid || !session.ValidID(got) {
				t.Errorf("%s: the new session did not get a fresh server-made ID", name)
			}
		}
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
	})

	t.Run("ConcurrentRequestsKeepEveryKey", func(t *testing.T) {
		m, _, _ := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=start&v=1", nil)
		const n = 24
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.do(t, "POST", fmt.Sprintf("/kit/set?k=key%d&v=%d", i, i), nil).want(t, 200, "ok")
			}()
		}
		wg.Wait()
		for i := range n {
			c.do(t, "GET", fmt.Sprintf("/kit/get?k=key%d", i), nil).want(t, 200, strconv.Itoa(i))
		}
	})

	t.Run("StoreDownTakesErrorPath", func(t *testing.T) {
		m, _, fail := newManager(t)
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=1", nil)
		fail.SetDown(true)
		for _, path := range []string{"/kit/get?k=a", "/kit/set?k=a&v=2"} {
			r := c.do(t, "POST", path, nil)
			if r.status != http.StatusInternalServerError {
				t.Fatalf("%s with the store down: status %d %q, want 500", path, r.status, r.body)
			}
			if strings.Contains(r.body, c.cookies["sid"]) || strings.Contains(r.body, testenv.ErrDown.Error()) {
				t.Fatalf("error body leaks internals: %q", r.body)
			}
			r.noCookie(t)
		}
		// A new session whose commit fails also takes the error path.
		x := newClient(t, c.base)
		if r := x.do(t, "POST", "/kit/set?k=a&v=1", nil); r.status != http.StatusInternalServerError {
			t.Fatalf("commit with the store down: status %d, want 500", r.status)
		}
		c.do(t, "GET", "/untouched", nil).want(t, 200, "ok")
		fail.SetDown(false)
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
	})

	testClientIPForms(t, a)
	testStreaming(t, start)
	testHijack(t, start)
	testErrorResponse(t, start)
	testAccessorErrors(t, start)
	testTwoManagers(t, a, newManager)
}

// client is a minimal HTTP client that keeps cookies itself, so Secure
// cookies work over plain loopback HTTP.
type client struct {
	base    string
	hc      *http.Client
	ua      string
	mu      sync.Mutex
	cookies map[string]string
}

func newClient(t *testing.T, base string) *client {
	tr := &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		ua: "sessiontest", cookies: map[string]string{}}
}

// fromIP makes the client connect from the given local address.
func (c *client) fromIP(ip string) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c.hc.Transport.(*http.Transport).DialContext = d.DialContext
}

type result struct {
	status     int
	body       string
	header     http.Header
	setCookies []string
	parsed     []*http.Cookie
}

func (c *client) do(t *testing.T, method, path string, h http.Header) *result {
	c.mu.Lock()
	var parts []string
	for k, v := range c.cookies {
		parts = append(parts, k+"="+v)
	}
	c.mu.Unlock()
	return c.doRaw(t, method, path, strings.Join(parts, "; "), h)
}

func (c *client) doRaw(t *testing.T, method, path, cookieHeader string, h http.Header) *result {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.ua)
	if cookieHeader != "" {
		req.Header.Set("Cookie", cookieHeader)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &result{status: resp.StatusCode, body: string(b), header: resp.Header, setCookies: resp.Header.Values("Set-Cookie"), parsed: resp.Cookies()}
	c.mu.Lock()
	for _, ck := range r.parsed {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	c.mu.Unlock()
	return r
}

func (r *result) want(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || strings.TrimSpace(r.body) != body {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, status, body)
	}
}

func (r *result) cookie(t *testing.T, name string) *http.Cookie {
	t.Helper()
	c := cookieByName(r.parsed, name)
	if c == nil {
		t.Fatalf("no %s cookie in response (Set-Cookie: %q)", name, r.setCookies)
	}
	return c
}

func (r *result) noCookie(t *testing.T) {
	t.Helper()
	if len(r.setCookies) != 0 {
		t.Fatalf("unexpected Set-Cookie %q", r.setCookies)
	}
}
