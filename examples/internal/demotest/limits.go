package demotest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/require"
)

// hugeBody is the size of the oversized bodies BodyLimits streams: far
// more than the loopback socket buffers hold, so a client that gets its
// answer before writing it all shows that the demo stopped reading.
const hugeBody = 32 << 20

// Slack the demo may read beyond a route's body limit: the request
// headers and read buffers (fiber reads 16 KiB at a time) for a declared
// length, plus, for a chunked body, the 256 KiB net/http reads after
// answering so that the client sees the answer rather than a reset.
const (
	readSlack    = 64 << 10
	chunkedSlack = readSlack + 256<<10
)

// BodyLimits checks the demo's request body limits over real HTTP: a body
// of hugeBody bytes to POST /login (multipart, as a browser uploads a
// file), POST /api/login and PUT /api/values/{key}, declared with
// Content-Length or chunked, is refused with 400 naming the route's limit,
// before the client has sent it all, having been read no further than the
// limit (counted on the demo's side of the connection), and changes
// nothing; the limits are exact (a form of demo.MaxFormSize bytes logs in,
// one byte more is refused); routes that take no body refuse one; an
// encoded (Content-Encoding) body is refused with 415. It returns every
// session ID the demo handed out.
func BodyLimits(t *testing.T, d *Demo) (ids []string) {
	rec := new(recorder)
	client := func(t *testing.T) *Client { return &Client{t: t, Base: d.URL, rec: rec} }
	defer func() { ids = client(t).Seen() }()

	t.Run("Oversized", func(t *testing.T) {
		// A logged-in user whose session must come out unchanged.
		c := client(t)
		c.PostForm("/api/login", url.Values{"user": {"ann"}}).Want(200, ctJSON, StateJSON(0, "ann"))
		c.Do("PUT", "/api/values/k", "", []byte("v")).Want(204, "", "")
		for _, tc := range []struct {
			method, path string
			multipart    bool
			limit        int64
		}{
			{"POST", "/login", true, demo.MaxFormSize},
			{"POST", "/api/login", true, demo.MaxFormSize},
			{"POST", "/api/login", false, demo.MaxFormSize},
			{"PUT", "/api/values/k", false, demo.MaxValueSize},
		} {
			for _, chunked := range []bool{false, true} {
				name := fmt.Sprintf("%s %s multipart=%t chunked=%t", tc.method, tc.path, tc.multipart, chunked)
				t.Run(name, func(t *testing.T) {
					r := sendHuge(t, d, tc.method, tc.path, c.SID, tc.multipart, chunked)
					slack := int64(readSlack)
					if chunked {
						slack = chunkedSlack
					}
					require.Less(t, r.sentAtAnswer, int64(hugeBody),
						"%s: the client had sent all the body before the answer (%d %q): the demo read the whole body", name, r.Status, r.Body)
					require.LessOrEqual(t, r.serverRead, tc.limit+slack,
						"%s: bytes the demo read of the connection, want at most the limit %d + %d (answer %d %q)",
						name, tc.limit, slack, r.Status, r.Body)
					if !chunked {
						want := fmt.Sprintf("request body must be at most %d bytes", tc.limit)
						wantRefused(t, name, r.Response, 400, tc.path, want)
					} else {
						// fasthttp forgets the route of a request whose
						// chunked body it refuses: fiber answers the 400 in
						// plain text, without the route's limit.
						msg := []any{"%s = %d %q, want 400 saying the request body is too large", name, r.Status, r.Body}
						require.Equal(t, 400, r.Status, msg...)
						require.Contains(t, r.Body, "request body", msg...)
					}
					require.True(t, r.closed, "%s: the demo kept the connection open after refusing the body", name)
					if testing.Verbose() {
						t.Logf("%s: %d %q; client sent %d bytes before the answer, the demo read %d", name, r.Status, r.Body, r.sentAtAnswer, r.serverRead)
					}
				})
			}
		}
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "ann")).NoCookie()
		c.Get("/api/values/k").Want(200, ctText, "v")
	})

	t.Run("ExactLimits", func(t *testing.T) {
		// A form of exactly MaxFormSize bytes is taken, one more byte is not.
		form := func(n int) []byte {
			b := []byte("user=lim&pad=")
			return append(b, bytes.Repeat([]byte("p"), n-len(b))...)
		}
		const ct = "application/x-www-form-urlencoded"
		c := client(t)
		r := c.Do("POST", "/api/login", ct, form(demo.MaxFormSize+1)).WantJSONError(400).NoCookie()
		wantMention(t, r, strconv.Itoa(demo.MaxFormSize))
		r = c.Do("POST", "/login", ct, form(demo.MaxFormSize+1)).NoCookie()
		wantRefused(t, "POST /login of MaxFormSize+1 bytes", r, 400, "/login", "at most "+strconv.Itoa(demo.MaxFormSize))
		c.Do("POST", "/api/login", ct, form(demo.MaxFormSize)).Want(200, ctJSON, StateJSON(0, "lim")).NewCookie()
		wantSeeOther(t, c.Do("POST", "/login", ct, form(demo.MaxFormSize)))
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "lim"))
	})

	t.Run("NoBodyRoutes", func(t *testing.T) {
		c := client(t)
		c.PostForm("/api/login", url.Values{"user": {"bea"}}).Want(200, ctJSON, StateJSON(0, "bea"))
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/logout"}, {"POST", "/logout"}, {"GET", "/api/session"}, {"GET", "/"},
			{"DELETE", "/api/values/k"},
		} {
			r := c.Do(req.method, req.path, "application/x-www-form-urlencoded", []byte("x=1")).NoCookie()
			wantRefused(t, req.method+" "+req.path+" with a body", r, 400, req.path, "this route takes no request body")
		}
		// Nothing happened: no logout, no view counted.
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "bea"))
		// Without a body they work as ever.
		c.Do("POST", "/api/logout", "", nil).Want(200, ctJSON, `{"destroyed":true}`+"\n").ExpiredCookie()
	})

	t.Run("EncodedBody", func(t *testing.T) {
		// A compressed body is refused (415), whatever it would inflate to.
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(bytes.Repeat([]byte("0"), 1<<20)) // 1 MiB from about 1 KiB
		zw.Close()
		c := client(t)
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
		gz := c.With(d.URL, c.SID)
		gz.Header = http.Header{"Content-Encoding": {"gzip"}}
		gz.Do("PUT", "/api/values/z", "", z.Bytes()).WantJSONError(415).NoCookie()
		c.Get("/api/values/z").WantJSONError(404)
		var form bytes.Buffer
		zw = gzip.NewWriter(&form)
		zw.Write([]byte("user=zed"))
		zw.Close()
		gz.Do("POST", "/api/login", "application/x-www-form-urlencoded", form.Bytes()).WantJSONError(415).NoCookie()
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(1, ""))
	})
	return nil
}

// wantRefused fails the test unless r is a refusal with status whose body,
// JSON under /api/ and plain text elsewhere, mentions want.
func wantRefused(t *testing.T, what string, r *Response, status int, path, want string) {
	t.Helper()
	if strings.HasPrefix(path, "/api/") {
		r.WantJSONError(status)
	} else {
		msg := []any{"%s = %d %q %q, want %d with a plain-text reason", what, r.Status, r.Header.Get("Content-Type"), r.Body, status}
		require.Equal(t, status, r.Status, msg...)
		require.Equal(t, ctText, r.Header.Get("Content-Type"), msg...)
		require.True(t, strings.HasSuffix(r.Body, "\n"), msg...)
	}
	wantMention(t, r, want)
}

func wantMention(t *testing.T, r *Response, want string) {
	t.Helper()
	require.Contains(t, r.Body, want, "%s answered %d, which does not say it", r.req, r.Status)
}

// huge is the outcome of sendHuge.
type huge struct {
	*Response
	sentAtAnswer int64 // body bytes the client had written when the status line arrived
	serverRead   int64 // bytes the demo read from the connection, in all
	closed       bool  // whether the demo closed the connection after answering
}

// sendHuge sends method path with a body of hugeBody bytes (a multipart
// form with a user field and a file, or an urlencoded form for a POST, or
// plain bytes for a PUT), declared with Content-Length or chunked, with
// the session cookie sid unless it is "". It writes the body while it
// reads the answer and until the demo closes the connection (it waits 5 s
// at most for that), and returns the answer with what each side had sent and
// read. The answer must set no cookie.
func sendHuge(t *testing.T, d *Demo, method, path, sid string, multipart, chunked bool) huge {
	t.Helper()
	u, _ := url.Parse(d.URL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))

	var head, prefix strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", method, path, u.Host, UserAgent)
	if sid != "" {
		fmt.Fprintf(&head, "Cookie: %s=%s\r\n", CookieName, sid)
	}
	switch {
	case multipart:
		head.WriteString("Content-Type: multipart/form-data; boundary=XyZ\r\n")
		prefix.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nmallory\r\n" +
			"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n" +
			"Content-Type: application/octet-stream\r\n\r\n")
	case method == http.MethodPost:
		head.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
		prefix.WriteString("user=mallory&pad=")
	}
	if chunked {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", hugeBody)
	}
	_, err = io.WriteString(conn, head.String())
	require.NoError(t, err)

	var sent atomic.Int64
	stop := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		piece := bytes.Repeat([]byte("x"), 32<<10)
		first := true
		for sent.Load() < hugeBody {
			select {
			case <-stop:
				return
			default:
			}
			p := piece
			if first {
				p = append([]byte(prefix.String()), piece[prefix.Len():]...)
				first = false
			}
			if rest := hugeBody - sent.Load(); int64(len(p)) > rest {
				p = p[:rest]
			}
			out := p
			if chunked {
				out = append([]byte(strconv.FormatInt(int64(len(p)), 16)+"\r\n"), p...)
				out = append(out, "\r\n"...)
			}
			if _, err := conn.Write(out); err != nil {
				return // the demo closed the connection
			}
			sent.Add(int64(len(p)))
		}
		if chunked {
			io.WriteString(conn, "0\r\n\r\n")
		}
	}()

	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	sentAt := sent.Load()
	if err != nil {
		close(stop) // the writer stops before the test does
	}
	require.NoError(t, err, "%s %s of %d bytes: no answer (sent %d bytes)", method, path, hugeBody, sentAt)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		close(stop)
	}
	require.NoError(t, err, "%s %s: reading the answer's body", method, path)
	// The client goes on sending, as curl would (net/http reads up to
	// 256 KiB more of a chunked body before it closes). A demo that refused the body closes the connection, which cannot
	// carry another request; only then is the count of what it read final.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, br)
	closed := err == nil || errors.Is(err, syscall.ECONNRESET)
	close(stop)
	conn.Close()
	<-wrote
	r := &Response{t: t, req: method + " " + d.URL + path, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	for _, ck := range resp.Cookies() {
		if ck.Name == CookieName {
			r.Cookies = append(r.Cookies, ck)
		}
	}
	r.NoCookie()
	return huge{Response: r, sentAtAnswer: sentAt, serverRead: d.ServerRead(conn), closed: closed}
}
