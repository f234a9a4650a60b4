package demotest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// uniqueUser returns a user name no earlier run used, since the Redis,
// PostgreSQL and SQLite stores outlive a test run.
func uniqueUser(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}

// login logs c in as user through POST /api/login, with the remember
// field when remember is not "".
func login(c *Client, user, remember string) *Response {
	c.t.Helper()
	form := url.Values{"user": {user}}
	if remember != "" {
		form.Set("remember", remember)
	}
	r := c.PostForm("/api/login", form)
	require.Equal(c.t, 200, r.Status, "POST /api/login: %q", r.Body)
	return r
}

// sessionsOf returns c's GET /api/sessions, which must answer 200.
func sessionsOf(c *Client) []demo.SessionJSON {
	c.t.Helper()
	r := c.Get("/api/sessions").Is(200, ctJSON).NoCookie()
	var body demo.SessionsBody
	require.NoError(c.t, json.Unmarshal([]byte(r.Body), &body), r.Body)
	return body.Sessions
}

func currentOf(t testing.TB, list []demo.SessionJSON) demo.SessionJSON {
	t.Helper()
	var cur []demo.SessionJSON
	for _, s := range list {
		if s.Current {
			cur = append(cur, s)
		}
	}
	require.Len(t, cur, 1, "exactly one current session in %+v", list)
	return cur[0]
}

// Features checks the routes of the features users ask for over real
// HTTP on the demo at base, started with -lifetime lifetime: remember-me,
// the user's sessions (list, revoke one, log out everywhere), rotation
// with grace, flashes, the preferences session and /metrics. It returns
// every session ID the demo handed out.
func Features(t *testing.T, base string, lifetime time.Duration) (ids []string) {
	rec := new(recorder)
	client := func(t *testing.T) *Client { return &Client{t: t, Base: base, rec: rec} }
	defer func() { ids = client(t).Seen() }()

	t.Run("RememberMe", func(t *testing.T) {
		for _, v := range []string{"1", "on", "true"} {
			c := client(t)
			r := login(c, uniqueUser("rem"), v)
			require.Len(t, r.Cookies, 1)
			ck := r.Cookies[0]
			assert.Greater(t, ck.MaxAge, 0, "remember=%s: %q", v, ck.String())
			assert.LessOrEqual(t, ck.MaxAge, int(lifetime/time.Second), "remember=%s: %q", v, ck.String())
			// Re-issued cookies keep the choice: a rotation re-issues it.
			r = c.PostForm("/api/rotate", nil).Is(200, ctJSON)
			require.Len(t, r.Cookies, 1)
			assert.Greater(t, r.Cookies[0].MaxAge, 0, "the rotated cookie of a remembered session: %q", r.Cookies[0].String())
		}
		c := client(t)
		r := login(c, uniqueUser("norem"), "")
		require.Len(t, r.Cookies, 1)
		CheckCookie(t, r.Cookies[0]) // neither Max-Age nor Expires
		r = c.PostForm("/api/rotate", nil).Is(200, ctJSON)
		require.Len(t, r.Cookies, 1)
		CheckCookie(t, r.Cookies[0])
		// An explicit "no" after a remembered login makes it a
		// browser-session cookie again.
		login(c, uniqueUser("rem"), "1")
		r = login(c, uniqueUser("norem"), "0")
		CheckCookie(t, r.Cookies[0])
	})

	t.Run("NotLoggedIn", func(t *testing.T) {
		c := client(t)
		c.Get("/api/sessions").WantJSONError(401).NoCookie()
		c.Do("DELETE", "/api/sessions/whatever", "", nil).WantJSONError(401).NoCookie()
		c.PostForm("/api/logout-everywhere", nil).WantJSONError(401).NoCookie()
		c.Get("/api/session") // a session, but nobody logged in
		c.Get("/api/sessions").WantJSONError(401).NoCookie()
	})

	t.Run("Sessions", func(t *testing.T) {
		user := uniqueUser("ann")
		a, b := client(t), client(t)
		login(a, user, "")
		login(b, user, "1")
		list := sessionsOf(a)
		require.Len(t, list, 2)
		cur := currentOf(t, list)
		var other demo.SessionJSON
		for _, s := range list {
			for _, ts := range []string{s.Created, s.LastSeen} {
				_, err := time.Parse(time.RFC3339, ts)
				assert.NoError(t, err, "a time of %+v", s)
			}
			assert.Equal(t, UserAgent, s.UserAgent)
			assert.Equal(t, "127.0.0.1", s.ClientIP)
			assert.NotEmpty(t, s.Handle)
			assert.NotContains(t, []string{a.SID, b.SID}, s.Handle, "a handle is never the ID")
			if !s.Current {
				other = s
			}
		}
		assert.Equal(t, currentOf(t, sessionsOf(b)).Handle, other.Handle, "b sees itself as current")
		assert.NotEqual(t, cur.Handle, other.Handle)

		// A handle is no cookie: sent as one, it finds no session.
		x := client(t)
		x.SID = cur.Handle
		x.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))

		// Another user cannot see or revoke ann's sessions.
		bob := client(t)
		login(bob, uniqueUser("bob"), "")
		require.Len(t, sessionsOf(bob), 1)
		bob.Do("DELETE", "/api/sessions/"+other.Handle, "", nil).WantJSONError(404)
		a.Do("DELETE", "/api/sessions/"+strings.Repeat("A", 43), "", nil).WantJSONError(404)

		// ann revokes b: b's cookie then finds nothing.
		a.Do("DELETE", "/api/sessions/"+other.Handle, "", nil).Want(204, "", "")
		b.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
		list = sessionsOf(a)
		require.Len(t, list, 1)
		assert.True(t, list[0].Current)
		a.Do("DELETE", "/api/sessions/"+other.Handle, "", nil).WantJSONError(404)
		assert.Equal(t, user, peekUser(a), "the revoker stays logged in")

		// A logout drops the session from the list.
		login(b, user, "")
		require.Len(t, sessionsOf(a), 2)
		b.PostForm("/api/logout", nil).ExpiredCookie()
		require.Len(t, sessionsOf(a), 1)
	})

	t.Run("LogoutEverywhere", func(t *testing.T) {
		user := uniqueUser("eve")
		cs := []*Client{client(t), client(t), client(t)}
		for _, c := range cs {
			login(c, user, "")
		}
		bystander := client(t)
		login(bystander, uniqueUser("bystander"), "")
		cs[0].PostForm("/api/logout-everywhere", nil).Want(200, ctJSON, `{"destroyed":3}`+"\n").ExpiredCookie()
		for _, c := range cs[1:] {
			c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
			c.Get("/api/sessions").WantJSONError(401)
		}
		assert.NotEmpty(t, peekUser(bystander), "another user's session survives")
	})

	t.Run("LogoutEverywhereRacingWrites", func(t *testing.T) {
		// Destroy wins: writes racing a logout everywhere never bring a
		// session back, and nothing is written under it afterwards.
		user := uniqueUser("race")
		a, b := client(t), client(t)
		login(a, user, "")
		login(b, user, "")
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := b.With(base, b.SID)
				w.Do("PUT", fmt.Sprintf("/api/values/k%d", i), "text/plain", []byte("v"))
			}()
		}
		a.PostForm("/api/logout-everywhere", nil).Is(200, ctJSON)
		wg.Wait()
		c := b.With(base, b.SID)
		c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
		for i := range 20 {
			c.Get(fmt.Sprintf("/api/values/k%d", i)).WantJSONError(404)
		}
		fresh := client(t)
		login(fresh, user, "")
		require.Len(t, sessionsOf(fresh), 1, "no revoked session is listed again")
	})

	t.Run("Rotate", func(t *testing.T) {
		c := client(t)
		user := uniqueUser("rot")
		login(c, user, "")
		c.Do("PUT", "/api/values/before", "text/plain", []byte("1")).Want(204, "", "")
		old := c.SID
		r := c.PostForm("/api/rotate", nil).Want(200, ctJSON, StateJSON(0, user))
		require.Len(t, r.Cookies, 1)
		assert.NotEqual(t, old, c.SID, "a new ID")
		// Within the grace the old cookie reads and writes the rotated
		// session, and never gets a cookie of its own.
		o := c.With(base, old)
		o.Get("/api/values/before").Want(200, ctText, "1")
		o.Do("PUT", "/api/values/late", "text/plain", []byte("2")).Want(204, "", "")
		assert.Equal(t, old, o.SID)
		c.Get("/api/values/late").Want(200, ctText, "2")
		assert.Equal(t, user, peekUser(o))
		// Destroy ends the grace at once.
		c.PostForm("/api/logout", nil).ExpiredCookie()
		o.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
	})

	t.Run("Flashes", func(t *testing.T) {
		c := client(t)
		user := uniqueUser("fl")
		login(c, user, "")
		c.Get("/api/flashes").Want(200, ctJSON, `{"flashes":["`+demo.Welcome(user)+`"]}`+"\n")
		c.Get("/api/flashes").Want(200, ctJSON, `{"flashes":[]}`+"\n")
		c.PostForm("/api/flash", url.Values{"msg": {""}}).WantJSONError(400)
		c.PostForm("/api/flash", url.Values{"msg": {strings.Repeat("x", demo.MaxFlashLen+1)}}).WantJSONError(400)
		c.PostForm("/api/flash", url.Values{"msg": {"one"}}).Want(204, "", "")
		c.PostForm("/api/flash", url.Values{"msg": {strings.Repeat("é", demo.MaxFlashLen)}}).Want(204, "", "")
		c.Get("/api/flashes").Want(200, ctJSON, `{"flashes":["one","`+strings.Repeat("é", demo.MaxFlashLen)+`"]}`+"\n")

		// Concurrent adds all arrive; concurrent pops hand each out once.
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.With(base, c.SID).PostForm("/api/flash", url.Values{"msg": {fmt.Sprint("m", i)}})
			}()
		}
		wg.Wait()
		var mu sync.Mutex
		got := map[string]int{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.With(base, c.SID).Get("/api/flashes").Is(200, ctJSON)
				var body demo.FlashesBody
				assert.NoError(t, json.Unmarshal([]byte(r.Body), &body))
				mu.Lock()
				for _, m := range body.Flashes {
					got[m]++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		assert.Len(t, got, n, "every flash popped: %v", got)
		for m, k := range got {
			assert.Equal(t, 1, k, "flash %s popped %d times", m, k)
		}
	})

	t.Run("Prefs", func(t *testing.T) {
		c := client(t)
		c.Get("/api/prefs/theme").WantJSONError(404).NoCookie()
		c.Do("PUT", "/api/prefs/theme", "text/plain", []byte(strings.Repeat("x", demo.MaxThemeSize+1))).WantJSONError(400)
		r := c.Do("PUT", "/api/prefs/theme", "text/plain", []byte("dark")).Want(204, "", "")
		require.Len(t, r.Prefs, 1, "the prefs cookie")
		assert.Empty(t, r.Cookies, "no login session for a preference")
		assert.Greater(t, r.Prefs[0].MaxAge, 0, "prefs is persistent: %q", r.Prefs[0].String())
		assert.True(t, r.Prefs[0].HttpOnly)
		c.Get("/api/prefs/theme").Want(200, ctText, "dark")
		// It survives login, logout and logout everywhere.
		user := uniqueUser("pref")
		login(c, user, "")
		c.Get("/api/prefs/theme").Want(200, ctText, "dark")
		c.PostForm("/api/logout", nil).ExpiredCookie()
		c.Get("/api/prefs/theme").Want(200, ctText, "dark")
		login(c, user, "")
		c.PostForm("/api/logout-everywhere", nil).Is(200, ctJSON)
		c.Get("/api/prefs/theme").Want(200, ctText, "dark")
		assert.NotEmpty(t, c.Prefs)
	})

	t.Run("Metrics", func(t *testing.T) {
		c := client(t)
		c.Get("/api/session")
		r := c.Get("/metrics").NoCookie()
		require.Equal(t, 200, r.Status)
		assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain"), r.Header.Get("Content-Type"))
		assert.Contains(t, r.Body, "sessionkit_session_loads_total")
		assert.Contains(t, r.Body, `manager="login"`)
		assert.Contains(t, r.Body, `manager="prefs"`)
	})
	return nil
}

func peekUser(c *Client) string {
	c.t.Helper()
	r := c.Get("/api/peek").Is(200, ctJSON)
	var st demo.State
	require.NoError(c.t, json.Unmarshal([]byte(r.Body), &st))
	return st.User
}

// RotateGrace checks that the old ID of a rotated session finds nothing
// once the grace is over, on a demo started with -rotate-grace grace.
func RotateGrace(t *testing.T, base string, grace time.Duration) (ids []string) {
	c := NewClient(t, base)
	login(c, uniqueUser("grace"), "")
	old := c.SID
	c.PostForm("/api/rotate", nil).Is(200, ctJSON)
	o := c.With(base, old)
	assert.NotEmpty(t, peekUser(o), "within the grace")
	time.Sleep(grace + grace/2)
	o.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
	o.Do("PUT", "/api/values/k", "text/plain", []byte("x")) // a new session, not the rotated one
	c.Get("/api/values/k").WantJSONError(404)
	assert.NotEmpty(t, peekUser(c), "the rotated session lives on")
	return c.Seen()
}

// Token checks the demo at base started with -token-header header: the
// session ID travels in that header only (no Set-Cookie), a new one comes
// back when the client must switch (new session, login, rotation) and an
// empty one on destroy, a cookie carrying the token is ignored, and the
// fingerprint still binds the token to the client's User-Agent.
func Token(t *testing.T, base, header string) (ids []string) {
	c := NewClient(t, base)
	c.TokenHeader = header
	defer func() { ids = c.Seen() }()

	r := c.Get("/api/session").Want(200, ctJSON, StateJSON(1, "")).NoCookie()
	tok := c.SID
	require.NotEmpty(t, tok, "a new session's token in %s", header)
	r = c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
	assert.Empty(t, r.Header.Values(header), "no token when the client keeps its own")

	// A cookie with the token is ignored in this mode.
	ck := NewClient(t, base)
	ck.SID = tok
	ck.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))

	// Another User-Agent presenting the token finds nothing.
	thief := c.With(base, tok)
	thief.Header = http.Header{"User-Agent": {"thief/1"}}
	thief.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))

	user := uniqueUser("tok")
	login(c, user, "")
	assert.NotEqual(t, tok, c.SID, "login hands out a new token")
	require.Len(t, sessionsOf(c), 1)
	c.Get("/api/flashes").Want(200, ctJSON, `{"flashes":["`+demo.Welcome(user)+`"]}`+"\n")
	before := c.SID
	c.PostForm("/api/rotate", nil).Want(200, ctJSON, StateJSON(2, user))
	assert.NotEqual(t, before, c.SID, "rotation hands out a new token")
	r = c.PostForm("/api/logout", nil).Want(200, ctJSON, `{"destroyed":true}`+"\n")
	require.Equal(t, []string{""}, r.Header.Values(header), "an empty token on destroy")
	assert.Empty(t, c.SID)
	return nil
}

// CrossFeatures checks that the features users ask for work across two
// demos a and b (of different frameworks) on one shared store: a session
// listed and revoked from the other framework, a flash added on one and
// popped on the other, a rotation on one whose old ID keeps resolving on
// the other, and a logout everywhere that ends the sessions on both.
func CrossFeatures(t *testing.T, a, b string) {
	user := uniqueUser("cross")
	ca, cb := NewClient(t, a), NewClient(t, b)
	login(ca, user, "1")
	login(cb, user, "")
	list := sessionsOf(cb)
	require.Len(t, list, 2)
	var onA string
	for _, s := range list {
		if !s.Current {
			onA = s.Handle
		}
	}
	assert.Equal(t, onA, currentOf(t, sessionsOf(ca)).Handle, "both frameworks name a session by the same handle")
	cb.Do("DELETE", "/api/sessions/"+onA, "", nil).Want(204, "", "")
	ca.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))

	// b's session, used on a.
	cc := cb.With(a, cb.SID)
	cb.PostForm("/api/flash", url.Values{"msg": {"from b"}}).Want(204, "", "")
	cc.Get("/api/flashes").Want(200, ctJSON, `{"flashes":["`+demo.Welcome(user)+`","from b"]}`+"\n")
	cb.Get("/api/flashes").Want(200, ctJSON, `{"flashes":[]}`+"\n")
	old := cc.SID
	cc.PostForm("/api/rotate", nil).Is(200, ctJSON)
	assert.Equal(t, user, peekUser(cb.With(b, old)), "the old ID resolves on b within the grace")
	assert.Equal(t, user, peekUser(cb.With(b, cc.SID)), "the new ID works on b")

	login(ca, user, "")
	cb.SID = cc.SID
	cb.PostForm("/api/logout-everywhere", nil).Want(200, ctJSON, `{"destroyed":2}`+"\n").ExpiredCookie()
	ca.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
	cc.Get("/api/peek").Want(200, ctJSON, StateJSON(0, ""))
}
