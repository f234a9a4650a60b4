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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/require"
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
	require.NoError(c.t, err)
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
	require.NoError(c.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err, "%s %s: reading the body", method, path)
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
	require.Empty(c.t, r.Cookies, "%s set the session cookie %q in token mode", r.req, r.Header.Values("Set-Cookie"))
	if vs, ok := resp.Header[http.CanonicalHeaderKey(c.TokenHeader)]; ok {
		require.Len(c.t, vs, 1, "%s: %s headers, want at most 1", r.req, c.TokenHeader)
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
	require.LessOrEqual(c.t, len(cookies), 1, "Set-Cookie headers for %s in one response", CookieName)
	switch {
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
		require.NoError(c.t, mw.WriteField(k, v))
	}
	require.NoError(c.t, mw.Close())
	return c.Do("POST", path, mw.FormDataContentType(), b.Bytes())
}

// Want fails the test unless the response has this status, content type
// (when not "") and body.
func (r *Response) Want(status int, contentType, body string) *Response {
	r.t.Helper()
	require.Equal(r.t, status, r.Status, "%s: status, with the body %q (want %q)", r.req, r.Body, body)
	require.Equal(r.t, body, r.Body, "%s: body", r.req)
	if contentType != "" {
		require.Equal(r.t, contentType, r.Header.Get("Content-Type"), "%s: Content-Type", r.req)
	}
	return r
}

// Is fails the test unless the response has this status and content
// type, whatever its body.
func (r *Response) Is(status int, contentType string) *Response {
	r.t.Helper()
	got := r.Header.Get("Content-Type")
	require.Equal(r.t, status, r.Status, "%s: status, with Content-Type %q and the body %q", r.req, got, r.Body)
	require.Equal(r.t, contentType, got, "%s: Content-Type, with the body %q", r.req, r.Body)
	return r
}

// WantJSONError fails the test unless the response is status with a JSON
// body {"error":"..."} holding a non-empty message.
func (r *Response) WantJSONError(status int) *Response {
	r.t.Helper()
	require.Equal(r.t, status, r.Status, "%s: status, with the body %q", r.req, r.Body)
	require.Regexp(r.t, jsonError, r.Body, "%s: body, want {\"error\":\"...\"}", r.req)
	require.Equal(r.t, "application/json", r.Header.Get("Content-Type"), "%s: Content-Type", r.req)
	return r
}

// jsonError matches a JSON error body with a non-empty message.
var jsonError = regexp.MustCompile(`(?s)^\{"error":".+"\}\n$`)

// NoCookie fails the test if the response sets any cookie.
func (r *Response) NoCookie() *Response {
	r.t.Helper()
	require.Empty(r.t, r.Header.Values("Set-Cookie"), "%s set cookies, want none", r.req)
	return r
}

// NewCookie fails the test unless the response sets one session cookie
// carrying a well-formed ID with the demo's flags: HttpOnly, SameSite=Lax,
// Path=/, not Secure (the demo's -cookie-secure default), no Max-Age (a
// browser-session cookie). It returns the ID.
func (r *Response) NewCookie() string {
	r.t.Helper()
	require.Len(r.t, r.Cookies, 1, "%s: session cookies set (%q), want 1", r.req, r.Header.Values("Set-Cookie"))
	CheckCookie(r.t, r.Cookies[0])
	return r.Cookies[0].Value
}

// CheckCookie fails the test unless c is a session cookie with the demo's
// default flags (see Response.NewCookie).
func CheckCookie(t testing.TB, c *http.Cookie) {
	t.Helper()
	msg := []any{"session cookie %q, want %s=<valid ID>; Path=/; HttpOnly; SameSite=Lax, not Secure, no Max-Age or Expires",
		c.String(), CookieName}
	require.Equal(t, CookieName, c.Name, msg...)
	require.True(t, session.ValidID(c.Value), msg...)
	require.True(t, c.HttpOnly, msg...)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite, msg...)
	require.False(t, c.Secure, msg...)
	require.Equal(t, "/", c.Path, msg...)
	require.Empty(t, c.Domain, msg...)
	require.Zero(t, c.MaxAge, msg...)
	require.True(t, c.Expires.IsZero(), msg...)
}

// ExpiredCookie fails the test unless the response deletes the session
// cookie (an empty value with Max-Age=0).
func (r *Response) ExpiredCookie() *Response {
	r.t.Helper()
	msg := []any{"%s set %q, want the session cookie deleted (empty, Max-Age=0)", r.req, r.Header.Values("Set-Cookie")}
	require.Len(r.t, r.Cookies, 1, msg...)
	require.Negative(r.t, r.Cookies[0].MaxAge, msg...)
	require.Empty(r.t, r.Cookies[0].Value, msg...)
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
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	cookie := ""
	if sid != "" {
		cookie = "Cookie: " + CookieName + "=" + sid + "\r\n"
	}
	_, err = fmt.Fprintf(conn, "GET /api/stream HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n%sConnection: close\r\n\r\n",
		u.Host, UserAgent, cookie)
	require.NoError(t, err)
	tp := textproto.NewReader(bufio.NewReader(conn))
	status, err := tp.ReadLine()
	require.NoError(t, err, "GET /api/stream: reading the status line")
	proto, code, _ := strings.Cut(status, " ")
	code, _, _ = strings.Cut(code, " ")
	n, err := strconv.Atoi(code)
	require.Equal(t, "HTTP/1.1", proto, "GET /api/stream: status line %q", status)
	require.NoError(t, err, "GET /api/stream: status line %q", status)
	hdr, err := tp.ReadMIMEHeader()
	require.NoError(t, err, "GET /api/stream: reading the headers")
	s := &Stream{Status: n, Header: http.Header(hdr)}
	if te := hdr.Get("Transfer-Encoding"); !strings.EqualFold(te, "chunked") {
		// Fail, not a require.Equal before the if: the body, read for the
		// message, is the stream itself when it is chunked.
		body, _ := io.ReadAll(tp.R)
		require.Fail(t, "GET /api/stream is not chunked",
			"Transfer-Encoding %q, want chunked (status %d, headers %v, body %q)", te, n, hdr, body)
	}
	for {
		line, err := tp.ReadLine()
		require.NoError(t, err, "GET /api/stream: reading a chunk size after %q", s.Chunks)
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseUint(strings.TrimSpace(sizeHex), 16, 32)
		require.NoError(t, err, "GET /api/stream: bad chunk size line %q", line)
		if size == 0 {
			break
		}
		chunk := make([]byte, size+2)
		_, err = io.ReadFull(tp.R, chunk)
		require.NoError(t, err, "GET /api/stream: reading a %d-byte chunk after %q", size, s.Chunks)
		require.Equal(t, "\r\n", string(chunk[size:]), "GET /api/stream: chunk not followed by CRLF: %q", chunk)
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
