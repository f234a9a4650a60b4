package session_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func TestTokenHeaderCarriesTheSession(t *testing.T) {
	const hdr = "X-Session-Token"
	e := newEnv(t, session.WithTokenHeader("x-session-token"))
	run := func(token string, ua string, fn func(s *session.Session)) *sessiontest.Exchange {
		t.Helper()
		x := &sessiontest.Exchange{IP: "192.0.2.10", Headers: map[string]string{"User-Agent": ua}}
		if token != "" {
			x.Headers[hdr] = token
		}
		h := begin(e.m, x)
		s, err := h.Session()
		require.NoError(t, err)
		fn(s)
		require.NoError(t, h.Commit())
		assert.Empty(t, x.Set, "no Set-Cookie in token mode")
		return x
	}
	x := run("", "app/1", func(s *session.Session) { require.NoError(t, s.Set("user", "ann")) })
	token := x.SetHeaders.Get(hdr)
	require.True(t, session.ValidID(token), "a new session hands out its token in the header")

	x = run(token, "app/1", func(s *session.Session) {
		assert.Equal(t, "ann", s.Get("user"))
		require.NoError(t, s.Set("n", 1))
	})
	assert.Empty(t, x.SetHeaders.Values(hdr), "an existing session's token is not sent again")

	run(token, "other/2", func(s *session.Session) {
		assert.True(t, s.IsNew(), "the fingerprint still binds the token to the client")
	})
	cookieOnly := &sessiontest.Exchange{IP: "192.0.2.10", Headers: map[string]string{"User-Agent": "app/1"},
		CookieMap: map[string][]string{session.DefaultCookieName: {token}}}
	s, err := begin(e.m, cookieOnly).Session()
	require.NoError(t, err)
	assert.True(t, s.IsNew(), "a cookie carrying the token is ignored in token mode")

	x = run(token, "app/1", func(s *session.Session) { s.Regenerate() })
	fresh := x.SetHeaders.Get(hdr)
	require.True(t, session.ValidID(fresh))
	assert.NotEqual(t, token, fresh, "a login hands out a new token")

	x = run(fresh, "app/1", func(s *session.Session) { s.Destroy() })
	require.Contains(t, x.SetHeaders, hdr)
	assert.Equal(t, "", x.SetHeaders.Get(hdr), "a destroyed session sends an empty token")
	run(fresh, "app/1", func(s *session.Session) { assert.True(t, s.IsNew()) })
}

func TestTokenHeaderMustBeAHeaderName(t *testing.T) {
	_, err := session.NewManager(session.WithTokenHeader("bad header"))
	assert.Error(t, err)
	_, err = session.NewManager(session.WithTokenHeader(""))
	assert.Error(t, err)
}

func TestRememberMeOverridesTheManagerDefault(t *testing.T) {
	e := newEnv(t, session.WithPersistentCookie(true))
	c := newClient()
	x := e.request(c, func(s *session.Session) {
		require.NoError(t, s.Set("user", "ann"))
		s.SetPersistent(false)
	})
	ck := x.LastCookie()
	require.NotNil(t, ck)
	assert.Zero(t, ck.MaxAge, "a browser-session cookie despite the persistent default")
	assert.True(t, ck.Expires.IsZero())
	x = e.request(c, func(s *session.Session) { s.SetPersistent(true) })
	ck = x.LastCookie()
	require.NotNil(t, ck, "changing the choice re-issues the cookie")
	assert.Positive(t, ck.MaxAge)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
}
