package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/stretchr/testify/require"
)

// rawReq is one HTTP/1.1 request written byte for byte, so that hostile
// headers reach the server exactly as a test means them (net/http's
// client would refuse or rewrite some).
type rawReq struct {
	method, path string
	from         string   // local IP to dial from ("" for the default, 127.0.0.1)
	ua           string   // User-Agent; "" for DefaultUserAgent, "-" for none
	cookie       string   // the Cookie header's value, "" for none
	headers      []string // more header lines, "Name: value"
	body         string
}

// rawResp is the answer to a rawReq.
type rawResp struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie // the session cookies it set
}

// sid returns the session ID the response set, or "".
func (r rawResp) sid() string {
	for _, c := range r.cookies {
		if c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// state decodes a /api/session, /api/peek or /api/login body.
func (r rawResp) state(t testing.TB) State {
	t.Helper()
	var st State
	require.Equal(t, http.StatusOK, r.status, "want 200 with a session state, got %q", truncate(r.body, 200))
	require.NoError(t, json.Unmarshal([]byte(r.body), &st), "want 200 with a session state, got %q", truncate(r.body, 200))
	return st
}

// do sends r to the demo at base on a connection of its own.
func (r rawReq) do(t testing.TB, base string) rawResp {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	d := net.Dialer{Timeout: 5 * time.Second}
	if r.from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(r.from)}
	}
	conn, err := d.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", r.method, r.path, u.Host)
	switch r.ua {
	case "":
		fmt.Fprintf(&b, "User-Agent: %s\r\n", DefaultUserAgent)
	case "-":
	default:
		fmt.Fprintf(&b, "User-Agent: %s\r\n", r.ua)
	}
	if r.cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s\r\n", r.cookie)
	}
	for _, h := range r.headers {
		b.WriteString(h + "\r\n")
	}
	if r.body != "" || r.method == http.MethodPut || r.method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.body))
	}
	b.WriteString("\r\n" + r.body)
	// Write while reading: a server may answer (400) before it has read a
	// large body, and then stop reading it.
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(conn, b.String())
		wrote <- err
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		werr := <-wrote
		require.NoError(t, err, "%s %s: no HTTP answer (writing: %v)", r.method, r.path, werr)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err, "%s %s: reading the body", r.method, r.path)
	conn.Close()
	<-wrote
	out := rawResp{status: resp.StatusCode, header: resp.Header, body: string(body)}
	for _, c := range resp.Cookies() {
		if c.Name == session.DefaultCookieName {
			out.cookies = append(out.cookies, c)
		}
	}
	require.LessOrEqual(t, len(out.cookies), 1, "%s %s: session Set-Cookie headers, want at most 1", r.method, r.path)
	if id := out.sid(); id != "" {
		require.True(t, session.ValidID(id), "%s %s: the server set a malformed session ID %q", r.method, r.path, id)
	}
	if out.status >= 400 && r.cookie != "" {
		for _, part := range strings.Split(r.cookie, ";") {
			if _, v, ok := strings.Cut(part, "="); ok && len(v) >= 20 {
				require.NotContains(t, out.body, v, "%s %s: the %d body echoes the session cookie", r.method, r.path, out.status)
			}
		}
	}
	return out
}

func sidCookie(id string) string { return session.DefaultCookieName + "=" + id }

// newSession makes a session with one counted view at base and returns
// its ID.
func newSession(t testing.TB, base string) string {
	t.Helper()
	r := rawReq{method: "GET", path: "/api/session"}.do(t, base)
	require.Equal(t, State{Views: 1}, r.state(t), "a new session")
	id := r.sid()
	require.NotEmpty(t, id, "a new session got no cookie")
	return id
}

// peekAs returns the state the session cookie id finds at base from a
// client with the default IP and User-Agent, and fails the test if the
// answer sets a cookie (peek changes nothing).
func peekAs(t testing.TB, base, id string) State {
	t.Helper()
	r := rawReq{method: "GET", path: "/api/peek", cookie: sidCookie(id)}.do(t, base)
	require.Empty(t, r.cookies, "GET /api/peek set a cookie")
	return r.state(t)
}
