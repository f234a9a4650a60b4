package session_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

// A login whose response a wrapper threw away after the commit (the
// cookie never reached the client) is undone: the old ID keeps its
// pre-login session, and the new ID, which nobody has, holds nothing.
func TestAbandonedLoginKeepsTheOldSession(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { require.NoError(t, s.Set("cart", "3 apples")) })
	old := c.cookie

	x := c.exchange()
	h := begin(e.m, x)
	s, err := h.Session()
	require.NoError(t, err)
	s.Regenerate()
	require.NoError(t, s.Set("user", "ann"))
	require.NoError(t, h.Commit())
	moved := x.LastCookie().Value
	require.NoError(t, h.Abandon())

	e.request(&client{ip: c.ip, ua: c.ua, cookie: moved}, func(s *session.Session) {
		assert.True(t, s.IsNew(), "the ID the client never got finds nothing")
	})
	e.request(&client{ip: c.ip, ua: c.ua, cookie: old}, func(s *session.Session) {
		assert.False(t, s.IsNew(), "the old ID works again")
		assert.Equal(t, "3 apples", s.Get("cart"))
		assert.Nil(t, s.Get("user"), "the abandoned login did not happen under the old ID")
	})
	assert.Equal(t, 1, e.storeLen())
}

// Abandon after a concurrent logout restores nothing: the logout wins.
func TestAbandonAfterALogoutRestoresNothing(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { require.NoError(t, s.Set("user", "ann")) })
	old := c.cookie
	logout := begin(e.m, c.exchange())
	ls, err := logout.Session()
	require.NoError(t, err)

	x := c.exchange()
	h := begin(e.m, x)
	s, err := h.Session()
	require.NoError(t, err)
	s.Regenerate()
	require.NoError(t, h.Commit())
	ls.Destroy()
	require.NoError(t, logout.Commit())
	require.NoError(t, h.Abandon())

	e.request(&client{ip: c.ip, ua: c.ua, cookie: old}, func(s *session.Session) {
		assert.True(t, s.IsNew(), "a logout is never undone")
	})
	assert.Equal(t, 0, e.storeLen())
}

// Abandon is harmless when the commit moved nothing.
func TestAbandonWithoutAMoveChangesNothing(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	x := c.exchange()
	h := begin(e.m, x)
	s, err := h.Session()
	require.NoError(t, err)
	require.NoError(t, s.Set("a", 1))
	require.NoError(t, h.Commit())
	require.NoError(t, h.Abandon())
	c.cookie = x.LastCookie().Value
	e.request(c, func(s *session.Session) { assert.Equal(t, 1, s.Get("a")) })
}

// The Manager's own MemoryStore keeps a session as long as WithLifetime
// says, not a hidden four hours.
func TestLifetimeLongerThanFourHoursIsHonoured(t *testing.T) {
	clk := newClock()
	m, err := session.NewManager(session.WithLifetime(8 * time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	session.SetClock(m, m.Store().(*session.MemoryStore), clk.Now)

	c := newClient()
	x := c.exchange()
	h := begin(m, x)
	s, err := h.Session()
	require.NoError(t, err)
	require.NoError(t, s.Set("user", "ann"))
	require.NoError(t, h.Commit())
	c.cookie = x.LastCookie().Value

	clk.Advance(7 * time.Hour)
	s, err = begin(m, c.exchange()).Session()
	require.NoError(t, err)
	assert.Equal(t, "ann", s.Get("user"), "alive 7 h into an 8 h lifetime")
	clk.Advance(90 * time.Minute)
	s, err = begin(m, c.exchange()).Session()
	require.NoError(t, err)
	assert.True(t, s.IsNew(), "gone after 8 h")
}
