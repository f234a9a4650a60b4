package demotest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// UserAgent is the User-Agent of every test request. The session
// fingerprint covers it, so all clients of a test must send the same one
// to share a session.
const UserAgent = "sessionkit-demotest/1"

// CookieName is the demos' session cookie name (the core's default).
const CookieName = session.DefaultCookieName

// PrefsCookie is the demos' preferences session cookie name.
const PrefsCookie = demo.PrefsCookie

// httpClient follows no redirect (the tests check the 303s) and keeps no
// cookie jar (each Client carries its session cookie itself).
var httpClient = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Client is one browser-like client of a demo: it sends its session
// cookie and takes the cookie each response sets. Several Clients may
// point at different demos (cross-framework tests) and copy cookies
// between them.
type Client struct {
	t    testing.TB
	Base string // the demo's base URL
	SID  string // the session cookie to send; "" sends none
	// Extra cookies are sent with every request, before the session
	// cookie, as other apps on the same host would have a browser do.
	Extra []*http.Cookie
	// Header holds extra request headers sent with every request.
	Header http.Header
	// Prefs is the preferences session's cookie ("prefs") to send; ""
	// sends none. Responses update it as they do SID.
	Prefs string
	// TokenHeader, when set, carries SID in this request header instead
	// of a cookie (the demo's -token-header), and SID is taken from the
	// response header of that name; a session Set-Cookie fails the test.
	TokenHeader string
	rec         *recorder
}

// recorder collects the session IDs a group of Clients were given.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

// NewClient returns a Client of the demo at base, without a cookie.
func NewClient(t testing.TB, base string) *Client {
	return &Client{t: t, Base: base, rec: new(recorder)}
}

// With returns a new Client of the demo at base that sends sid (and c's
// token header setting). It records the IDs it is given with c's.
func (c *Client) With(base, sid string) *Client {
	return &Client{t: c.t, Base: base, SID: sid, TokenHeader: c.TokenHeader, rec: c.rec}
}

// Response is what a demo answered.
type Response struct {
	t       testing.TB
	req     string
	Status  int            // status code
	Header  http.Header    // response headers
	Body    string         // the whole body
	Cookies []*http.Cookie // the Set-Cookie headers naming the session cookie
	Prefs   []*http.Cookie // the Set-Cookie headers naming the prefs cookie
}

// Do sends a request with an optional body and content type and returns
// the response. It takes the session cookie the response sets, if any.
func (c *Client) Do(method, path, contentType string, body []byte) *Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	req.Header.Set("User-Agent", UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range c.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs // replaces the User-Agent too
	}
	for _, ck := range c.Extra {
		req.AddCookie(ck)
	}
	if c.Prefs != "" {
		req.AddCookie(&http.Cookie{Name: PrefsCookie, Value: c.Prefs})
	}
	if c.SID != "" && c.TokenHeader != "" {
		req.Header.Set(c.TokenHeader, c.SID)
	} else if c.SID != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: c.SID})
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	r := &Response{t: c.t, req: method + " " + c.Base + path, Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case CookieName:
			r.Cookies = append(r.Cookies, ck)
		case PrefsCookie:
			r.Prefs = append(r.Prefs, ck)
		}
	}
	if len(r.Prefs) == 1 {
		c.Prefs = r.Prefs[0].Value
	}
	if c.TokenHeader == "" {
		c.take(r.Cookies)
		return r
	}
	if len(r.Cookies) > 0 {
		c.t.Fatalf("%s set the session cookie %q in token mode", r.req, r.Header.Values("Set-Cookie"))
	}
	if vs, ok := resp.Header[http.CanonicalHeaderKey(c.TokenHeader)]; ok {
		if len(vs) != 1 {
			c.t.Fatalf("%s: %d %s headers, want at most 1", r.req, len(vs), c.TokenHeader)
		}
		if vs[0] == "" {
			c.SID = ""
		} else {
			c.take([]*http.Cookie{{Name: CookieName, Value: vs[0]}})
		}
	}
	return r
}

func (c *Client) take(cookies []*http.Cookie) {
	c.t.Helper()
	switch {
	case len(cookies) > 1:
		c.t.Fatalf("%d Set-Cookie headers for %s in one response, want at most 1", len(cookies), CookieName)
	case len(cookies) == 1 && cookies[0].MaxAge < 0:
		c.SID = ""
	case len(cookies) == 1:
		c.SID = cookies[0].Value
		c.rec.mu.Lock()
		c.rec.seen = append(c.rec.seen, c.SID)
		c.rec.mu.Unlock()
	}
}

// Seen returns every session ID the demo gave this client and the
// Clients made from it with With.
func (c *Client) Seen() []string {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	return append([]string(nil), c.rec.seen...)
}

// Get sends a GET request.
func (c *Client) Get(path string) *Response { c.t.Helper(); return c.Do("GET", path, "", nil) }

// PostForm sends a POST request with an urlencoded form.
func (c *Client) PostForm(path string, form url.Values) *Response {
	c.t.Helper()
	return c.Do("POST", path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// PostMultipart sends a POST request with a multipart/form-data form.
func (c *Client) PostMultipart(path string, fields map[string]string) *Response {
	c.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	return c.Do("POST", path, mw.FormDataContentType(), b.Bytes())
}

// Want fails the test unless the response has this status, content type
// (when not "") and body.
func (r *Response) Want(status int, contentType, body string) *Response {
	r.t.Helper()
	if r.Status != status || r.Body != body {
		r.t.Fatalf("%s = %d %q, want %d %q", r.req, r.Status, r.Body, status, body)
	}
	if contentType != "" {
		if got := r.Header.Get("Content-Type"); got != contentType {
			r.t.Fatalf("%s: Content-Type %q, want %q", r.req, got, contentType)
		}
	}
	return r
}

// Is fails the test unless the response has this status and content
// type, whatever its body.
func (r *Response) Is(status int, contentType string) *Response {
	r.t.Helper()
	if got := r.Header.Get("Content-Type"); r.Status != status || got != contentType {
		r.t.Fatalf("%s = %d %q, want %d %q; body %q", r.req, r.Status, got, status, contentType, r.Body)
	}
	return r
}

// WantJSONError fails the test unless the response is status with a JSON
// body {"error":"..."} holding a non-empty message.
func (r *Response) WantJSONError(status int) *Response {
	r.t.Helper()
	if r.Status != status || !strings.HasPrefix(r.Body, `{"error":"`) || !strings.HasSuffix(r.Body, "\"}\n") ||
		len(r.Body) <= len(`{"error":""}`+"\n") {
		r.t.Fatalf("%s = %d %q, want %d with {\"error\":\"...\"}", r.req, r.Status, r.Body, status)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		r.t.Fatalf("%s: Content-Type %q, want application/json", r.req, got)
	}
	return r
}

// NoCookie fails the test if the response sets any cookie.
func (r *Response) NoCookie() *Response {
	r.t.Helper()
	if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
		r.t.Fatalf("%s set cookies %q, want none", r.req, sc)
	}
	return r
}

// NewCookie fails the test unless the response sets one session cookie
// carrying a well-formed ID with the demo's flags: HttpOnly, SameSite=Lax,
// Path=/, not Secure (the demo's -cookie-secure default), no Max-Age (a
// browser-session cookie). It returns the ID.
func (r *Response) NewCookie() string {
	r.t.Helper()
	if len(r.Cookies) != 1 {
		r.t.Fatalf("%s set %d session cookies (%q), want 1", r.req, len(r.Cookies), r.Header.Values("Set-Cookie"))
	}
	CheckCookie(r.t, r.Cookies[0])
	return r.Cookies[0].Value
}

// CheckCookie fails the test unless c is a session cookie with the demo's
// default flags (see Response.NewCookie).
func CheckCookie(t testing.TB, c *http.Cookie) {
	t.Helper()
	if c.Name != CookieName || !session.ValidID(c.Value) || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Secure || c.Path != "/" || c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Fatalf("session cookie %q, want %s=<valid ID>; Path=/; HttpOnly; SameSite=Lax, not Secure, no Max-Age or Expires",
			c.String(), CookieName)
	}
}

// ExpiredCookie fails the test unless the response deletes the session
// cookie (an empty value with Max-Age=0).
func (r *Response) ExpiredCookie() *Response {
	r.t.Helper()
	if len(r.Cookies) != 1 || r.Cookies[0].MaxAge >= 0 || r.Cookies[0].Value != "" {
		r.t.Fatalf("%s set %q, want the session cookie deleted (empty, Max-Age=0)", r.req, r.Header.Values("Set-Cookie"))
	}
	return r
}

// StateJSON is the exact body of /api/session, /api/peek and /api/login
// for views and user (user must need no JSON escaping).
func StateJSON(views int, user string) string {
	return `{"views":` + strconv.Itoa(views) + `,"user":"` + user + `"}` + "\n"
}

// Stream is a /api/stream response as it came off the wire.
type Stream struct {
	Status int         // status code
	Header http.Header // response headers
	Chunks []string    // the body's HTTP/1.1 chunks, in order
}

// ReadStream requests /api/stream on a raw HTTP/1.1 connection, sending
// sid as the session cookie unless it is "", and returns the status line,
// the headers and the chunks of the body as they were framed on the wire.
// A handler that flushes after each line makes one chunk per line.
func ReadStream(t testing.TB, base, sid string) *Stream {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	cookie := ""
	if sid != "" {
		cookie = "Cookie: " + CookieName + "=" + sid + "\r\n"
	}
	if _, err := fmt.Fprintf(conn, "GET /api/stream HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sConnection: close\r\n\r\n",
		u.Host, UserAgent, cookie); err != nil {
		t.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(conn))
	status, err := tp.ReadLine()
	if err != nil {
		t.Fatalf("GET /api/stream: reading the status line: %v", err)
	}
	proto, code, _ := strings.Cut(status, " ")
	code, _, _ = strings.Cut(code, " ")
	n, err := strconv.Atoi(code)
	if proto != "HTTP/1.1" || err != nil {
		t.Fatalf("GET /api/stream: status line %q", status)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("GET /api/stream: reading the headers: %v", err)
	}
	s := &Stream{Status: n, Header: http.Header(hdr)}
	if !strings.EqualFold(hdr.Get("Transfer-Encoding"), "chunked") {
		body, _ := io.ReadAll(tp.R)
		t.Fatalf("GET /api/stream: Transfer-Encoding %q, want chunked (status %d, headers %v, body %q)",
			hdr.Get("Transfer-Encoding"), n, hdr, body)
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("GET /api/stream: reading a chunk size after %q: %v", s.Chunks, err)
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseUint(strings.TrimSpace(sizeHex), 16, 32)
		if err != nil {
			t.Fatalf("GET /api/stream: bad chunk size line %q", line)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size+2)
		if _, err := io.ReadFull(tp.R, chunk); err != nil {
			t.Fatalf("GET /api/stream: reading a %d-byte chunk after %q: %v", size, s.Chunks, err)
		}
		if string(chunk[size:]) != "\r\n" {
			t.Fatalf("GET /api/stream: chunk not followed by CRLF: %q", chunk)
		}
		s.Chunks = append(s.Chunks, string(chunk[:size]))
	}
	return s
}

// rawGet sends a GET with the demo's session cookie sid and returns the
// status; it never fails the test, so goroutines may call it.
func rawGet(url, sid string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: sid})
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
