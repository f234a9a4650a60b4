package demotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/require"
)

const (
	ctJSON = demo.ContentTypeJSON
	ctText = demo.ContentTypeText
	ctHTML = demo.ContentTypeHTML
)

// Behaviour checks every route of the demo at base over real HTTP: exact
// status codes, bodies and content types, the session cookie's flags,
// laziness, login regenerating the ID, logout destroying the session,
// namespaced values, validation, the 303s of the form routes, the HTML
// page escaping the user, and /api/stream arriving in flushed parts with
// the cookie in its headers. It returns every session ID the demo handed
// out, so the caller can check that none of them was logged.
func Behaviour(t *testing.T, base string) (ids []string) {
	rec := new(recorder)
	client := func(t *testing.T) *Client { return &Client{t: t, Base: base, rec: rec} }
	defer func() { ids = client(t).Seen() }()

	t.Run("Healthz", func(t *testing.T) {
		c := client(t)
		c.Get("/healthz").Want(200, ctText, "ok\n").NoCookie()
		c.Get("/api/session").NewCookie()
		c.Get("/healthz").Want(200, ctText, "ok\n").NoCookie()
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(1, "")).NoCookie() // healthz did not touch it
	})

	t.Run("SessionAndPeek", func(t *testing.T) {
		c := client(t)
		// Peeking at a new session neither stores it nor sets a cookie.
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "")).NoCookie()
		r := c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
		r.NewCookie()
		// The cookie is a browser-session cookie: not sent again.
		c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
		// Another client has its own session.
		client(t).Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
	})

	t.Run("ConcurrentViewsAllCount", func(t *testing.T) {
		c := client(t)
		c.Get("/api/session").NewCookie()
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status, err := rawGet(base+"/api/session", c.SID); err != nil || status != http.StatusOK {
					errs <- fmt.Errorf("GET /api/session: %d, %v", status, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		// Every concurrent view counted: increments merge, they do not overwrite.
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(n+1, ""))
	})

	t.Run("PageAndForms", func(t *testing.T) {
		c := client(t)
		r := c.Get("/").Is(200, ctHTML)
		r.NewCookie()
		for _, want := range []string{
			`<b id="views">1</b>`, "Not logged in.",
			`<form method="post" action="/login">`, `<input name="user"`,
			`<form method="post" action="/logout">`, `<button type="submit">Log out</button>`,
		} {
			require.Contains(t, r.Body, want, "GET / lacks it")
		}
		// GET / counts a view, like /api/session.
		r = c.Get("/").NoCookie()
		require.Contains(t, r.Body, `<b id="views">2</b>`, "second GET / does not show 2 views")
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(2, ""))

		// The login form: 303 back to /, a new ID, the user escaped.
		before := c.SID
		user := `<script>alert("x")</script>`
		r = c.PostForm("/login", url.Values{"user": {user}})
		wantSeeOther(t, r)
		require.NotEqual(t, before, r.NewCookie(), "form login kept the session ID")
		c.With(base, before).Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
		r = c.Get("/").Is(200, ctHTML).NoCookie()
		const afterLogin = "GET / after login does not show 3 views and the escaped user"
		require.Contains(t, r.Body, `<b id="views">3</b>`, afterLogin)
		require.Contains(t, r.Body, `Logged in as <b id="user">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</b>`, afterLogin)
		require.NotContains(t, r.Body, "<script", afterLogin)
		c.Get("/api/peek").Want(200, ctJSON, string(demo.JSON(demo.State{Views: 3, User: user})))

		// An invalid user: 400 in plain text, nothing changed.
		for _, form := range []url.Values{{}, {"user": {""}}, {"user": {strings.Repeat("y", 65)}}} {
			r = c.PostForm("/login", form).NoCookie()
			msg := []any{"POST /login %v = %d %q %q, want 400 with a plain-text reason", form, r.Status, r.Header.Get("Content-Type"), r.Body}
			require.Equal(t, 400, r.Status, msg...)
			require.Equal(t, ctText, r.Header.Get("Content-Type"), msg...)
			require.True(t, strings.HasPrefix(r.Body, "user "), msg...)
		}
		c.Get("/api/peek").Want(200, ctJSON, string(demo.JSON(demo.State{Views: 3, User: user})))

		// The logout button: 303 back to /, the cookie deleted.
		loggedIn := c.SID
		r = c.PostForm("/logout", nil)
		wantSeeOther(t, r)
		r.ExpiredCookie()
		c.With(base, loggedIn).Get("/api/peek").Want(200, ctJSON, StateJSON(0, "")).NoCookie()
		r = c.Get("/").Is(200, ctHTML)
		r.NewCookie()
		require.Contains(t, r.Body, `<b id="views">1</b>`, "GET / after logout")
		require.Contains(t, r.Body, "Not logged in.", "GET / after logout")
		// Logging out without a session still redirects, setting no cookie.
		wantSeeOther(t, client(t).PostForm("/logout", nil).NoCookie())
	})

	t.Run("LoginRegeneratesAndLogoutDestroys", func(t *testing.T) {
		c := client(t)
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
		before := c.SID
		r := c.PostForm("/api/login", url.Values{"user": {"alice"}}).Want(200, ctJSON, StateJSON(1, "alice"))
		after := r.NewCookie()
		require.NotEqual(t, before, after, "login kept the session ID, want a new one (session fixation)")
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(1, "alice")).NoCookie()
		// The pre-login ID is dead.
		c.With(base, before).Get("/api/peek").Want(200, ctJSON, StateJSON(0, "")).NoCookie()
		// Logging in again (multipart this time) regenerates again.
		r = c.PostMultipart("/api/login", map[string]string{"user": "bob"}).Want(200, ctJSON, StateJSON(1, "bob"))
		require.NotEqual(t, after, r.NewCookie(), "second login kept the session ID")
		loggedIn := c.SID
		c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "bob"))

		c.Do("POST", "/api/logout", "", nil).Want(200, ctJSON, `{"destroyed":true}`+"\n").ExpiredCookie()
		require.Empty(t, c.SID, "client kept a cookie after logout")
		// The old cookie no longer works, even if a client keeps it.
		stale := c.With(base, loggedIn)
		stale.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "")).NoCookie()
		stale.Get("/api/session").Want(200, ctJSON, StateJSON(1, "")).NewCookie()
		// Logging out without a session still answers, and sets no cookie.
		c.Do("POST", "/api/logout", "", nil).Want(200, ctJSON, `{"destroyed":true}`+"\n").NoCookie()
	})

	t.Run("LoginValidation", func(t *testing.T) {
		c := client(t)
		c.PostForm("/api/login", url.Values{"user": {"carol"}}).Want(200, ctJSON, StateJSON(0, "carol"))
		sid := c.SID
		bad := []url.Values{
			{},                                  // missing
			{"user": {""}},                      // empty
			{"user": {strings.Repeat("x", 65)}}, // too long
			{"user": {strings.Repeat("é", 65)}}, // too long in characters
			{"user": {"a\x00b"}},                // control character
			{"user": {"\xff\xfe"}},              // not UTF-8
			{"other": {"dave"}},                 // wrong field
			{"user": {"line\nbreak"}},           // control character
			{"user": {strings.Repeat("\u00e9", 64) + "x"}}, // 65 characters
		}
		for _, form := range bad {
			c.PostForm("/api/login", form).WantJSONError(400).NoCookie()
		}
		// The user in the query string does not count: only the form body.
		c.Do("POST", "/api/login?user=eve", "application/x-www-form-urlencoded", []byte{}).WantJSONError(400).NoCookie()
		// Nothing changed.
		require.Equal(t, sid, c.SID, "a rejected login changed the session cookie")
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "carol"))
		// The limits are inclusive, in characters.
		client(t).PostForm("/api/login", url.Values{"user": {strings.Repeat("x", 64)}}).
			Want(200, ctJSON, StateJSON(0, strings.Repeat("x", 64))).NewCookie()
		client(t).PostForm("/api/login", url.Values{"user": {strings.Repeat("é", 64)}}).
			Want(200, ctJSON, StateJSON(0, strings.Repeat("é", 64))).NewCookie()
		client(t).PostForm("/api/login", url.Values{"user": {"x"}}).Want(200, ctJSON, StateJSON(0, "x")).NewCookie()
	})

	t.Run("Values", func(t *testing.T) {
		c := client(t)
		c.Get("/api/values/color").WantJSONError(404).NoCookie()
		r := c.Do("PUT", "/api/values/color", "text/plain", []byte("blue")).Want(204, "", "")
		r.NewCookie()
		c.Get("/api/values/color").Want(200, ctText, "blue").NoCookie()
		c.Do("PUT", "/api/values/color", "", []byte("green")).Want(204, "", "").NoCookie()
		c.Get("/api/values/color").Want(200, ctText, "green")

		// Values cannot clobber the demo's own keys.
		c.Do("PUT", "/api/values/views", "", []byte("999")).Want(204, "", "")
		c.Do("PUT", "/api/values/user", "", []byte("mallory")).Want(204, "", "")
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
		c.Get("/api/values/views").Want(200, ctText, "999")
		c.Get("/api/values/user").Want(200, ctText, "mallory")

		// Bodies: empty, every byte value, exactly the limit, one over it.
		c.Do("PUT", "/api/values/empty", "", nil).Want(204, "", "")
		c.Get("/api/values/empty").Want(200, ctText, "")
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		c.Do("PUT", "/api/values/bytes", "application/octet-stream", all).Want(204, "", "")
		c.Get("/api/values/bytes").Want(200, ctText, string(all))
		max := strings.Repeat("m", demo.MaxValueSize)
		key64 := strings.Repeat("K", 32) + strings.Repeat("_-", 16)
		c.Do("PUT", "/api/values/"+key64, "", []byte(max)).Want(204, "", "")
		c.Get("/api/values/"+key64).Want(200, ctText, max)
		c.Do("PUT", "/api/values/big", "", []byte(max+"m")).WantJSONError(400)
		c.Get("/api/values/big").WantJSONError(404)

		// Invalid keys, on every method.
		for _, k := range []string{"bad.key", "bad!key", "b%C3%A9", "bad~key", strings.Repeat("k", 65)} {
			c.Do("PUT", "/api/values/"+k, "", []byte("x")).WantJSONError(400)
			c.Get("/api/values/" + k).WantJSONError(400)
			c.Do("DELETE", "/api/values/"+k, "", nil).WantJSONError(400)
		}

		// Values belong to the session.
		client(t).Get("/api/values/color").WantJSONError(404).NoCookie()

		c.Do("DELETE", "/api/values/color", "", nil).Want(204, "", "").NoCookie()
		c.Get("/api/values/color").WantJSONError(404)
		c.Do("DELETE", "/api/values/color", "", nil).Want(204, "", "")
		c.Get("/api/values/views").Want(200, ctText, "999")
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(1, ""))
	})

	t.Run("ProxyHeadersIgnored", func(t *testing.T) {
		// The session is bound to the client IP. With no proxy in front,
		// the demos take it from the connection: headers a client sends
		// cannot move its session to another IP (gin and echo would
		// believe them by default).
		c := client(t)
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
		spoof := c.With(base, c.SID)
		spoof.Header = http.Header{
			"X-Forwarded-For":  {"203.0.113.9"},
			"X-Real-Ip":        {"203.0.113.9"},
			"Forwarded":        {"for=203.0.113.9"},
			"True-Client-Ip":   {"203.0.113.9"},
			"Cf-Connecting-Ip": {"203.0.113.9"},
		}
		spoof.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(2, ""))
		// The User-Agent is part of the binding too: another one finds
		// nothing under the same cookie.
		other := c.With(base, c.SID)
		other.Header = http.Header{"User-Agent": {"another-agent/2"}}
		other.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
	})

	t.Run("BigCookieHeader", func(t *testing.T) {
		// About 8 KiB of cookies, as a browser may send to a host that
		// other local apps set cookies on: the demo must still answer.
		c := client(t)
		c.Extra = []*http.Cookie{{Name: "other_app", Value: strings.Repeat("x", 7<<10)}}
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, "")).NewCookie()
		c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
	})

	t.Run("Stream", func(t *testing.T) {
		s := ReadStream(t, base, "")
		require.Equal(t, 200, s.Status, "GET /api/stream")
		require.Equal(t, ctText, s.Header.Get("Content-Type"), "GET /api/stream")
		// The cookie is in the headers, which precede the first line.
		var cookies []*http.Cookie
		for _, sc := range s.Header.Values("Set-Cookie") {
			ck, err := http.ParseSetCookie(sc)
			require.NoError(t, err, "bad Set-Cookie %q", sc)
			cookies = append(cookies, ck)
		}
		require.Len(t, cookies, 1, "GET /api/stream set cookies %q, want the session cookie", s.Header.Values("Set-Cookie"))
		CheckCookie(t, cookies[0])
		// Each line was flushed on its own, so it is its own chunk.
		want := []string{demo.StreamLine(1), demo.StreamLine(2), demo.StreamLine(3)}
		require.Equal(t, want, s.Chunks, "GET /api/stream chunks, want one chunk per line")
		// The value written before the stream was stored: the session
		// exists, so counting a view sets no new cookie.
		c := client(t)
		c.take(cookies) // send it, and record the ID
		c.Get("/api/session").Want(200, ctJSON, StateJSON(1, "")).NoCookie()
		// A stream on an existing session sets no cookie.
		s = ReadStream(t, base, c.SID)
		msg := []any{"second GET /api/stream = %d, cookies %q, chunks %q", s.Status, s.Header.Values("Set-Cookie"), s.Chunks}
		require.Equal(t, 200, s.Status, msg...)
		require.Empty(t, s.Header.Values("Set-Cookie"), msg...)
		require.Equal(t, want, s.Chunks, msg...)
	})
	return nil
}

// wantSeeOther fails the test unless r is a 303 redirect to / without a
// body.
func wantSeeOther(t *testing.T, r *Response) {
	t.Helper()
	msg := []any{"%s = %d, Location %q, body %q; want 303 to / without a body", r.req, r.Status, r.Header.Get("Location"), r.Body}
	require.Equal(t, http.StatusSeeOther, r.Status, msg...)
	require.Equal(t, "/", r.Header.Get("Location"), msg...)
	require.Empty(t, r.Body, msg...)
}
