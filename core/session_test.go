package session_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

func TestNewManagerRejectsInvalidConfigurations(t *testing.T) {
	cases := map[string][]session.Option{
		"zero lifetime":           {session.WithLifetime(0)},
		"negative idle":           {session.WithIdleTimeout(-time.Second)},
		"idle over lifetime":      {session.WithLifetime(time.Hour), session.WithIdleTimeout(2 * time.Hour)},
		"touch fraction zero":     {session.WithTouchFraction(0)},
		"touch fraction over one": {session.WithTouchFraction(1.5)},
		"empty cookie name":       {session.WithCookieName("")},
		"cookie name with space":  {session.WithCookieName("my sid")},
		"cookie name with ;":      {session.WithCookieName("a;b")},
		"relative path":           {session.WithCookiePath("app")},
		"__Host- with domain":     {session.WithCookieName("__Host-sid"), session.WithCookieDomain("example.com")},
		"__Host- with path":       {session.WithCookieName("__Host-sid"), session.WithCookiePath("/app")},
		"__Host- insecure":        {session.WithCookieName("__Host-sid"), session.WithCookieSecure(false)},
		"__Secure- insecure":      {session.WithCookieName("__Secure-sid"), session.WithCookieSecure(false)},
		"SameSite=None insecure":  {session.WithCookieSameSite(http.SameSiteNoneMode), session.WithCookieSecure(false)},
		"partitioned insecure":    {session.WithCookiePartitioned(true), session.WithCookieSecure(false)},
		"invalid SameSite":        {session.WithCookieSameSite(http.SameSite(42))},
		"nil store":               {session.WithStore(nil)},
		"nil fingerprint":         {session.WithFingerprint(nil)},
		"nil codec":               {session.WithCodec(nil)},
		"nil logger":              {session.WithLogger(nil)},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := session.NewManager(opts...)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, strings.HasPrefix(err.Error(), "session: "), err.Error())
		})
	}
	m, err := session.NewManager(session.WithCookieName("__Host-sid"))
	require.NoError(t, err, "a __Host- cookie with the defaults is valid")
	require.NoError(t, m.Close())
}

func TestDefaults(t *testing.T) {
	m, err := session.NewManager()
	require.NoError(t, err)
	defer m.Close()
	assert.Equal(t, "sid", m.CookieName())
	assert.IsType(t, &session.MemoryStore{}, m.Store())
	assert.NotNil(t, m.Logger())

	x := &sessiontest.Exchange{IP: "192.0.2.1"}
	h := begin(m, x)
	assert.Same(t, m, h.Manager())
	s, err := h.Session()
	require.NoError(t, err)
	s.Set("k", "v")
	require.NoError(t, h.Commit())
	c := x.LastCookie()
	require.NotNil(t, c)
	assert.True(t, session.ValidID(c.Value))
	assert.True(t, c.HttpOnly)
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.Zero(t, c.MaxAge, "browser-session cookie by default")
	assert.False(t, c.Partitioned)
	assert.Equal(t, s.CreatedAt().Add(session.DefaultLifetime), s.CreatedAt().Add(4*time.Hour))
}

func TestIDs(t *testing.T) {
	seen := make(map[string]bool)
	for range 20000 {
		x := &sessiontest.Exchange{}
		m, _ := session.NewManager(session.WithStore(testenv.MemoryStore(t, session.WithReapInterval(0))))
		s, err := begin(m, x).Session()
		require.NoError(t, err)
		id := s.ID()
		require.True(t, session.ValidID(id), id)
		require.Len(t, id, session.IDLength)
		require.False(t, seen[id], "duplicate ID")
		seen[id] = true
		require.Equal(t, id, s.ID(), "ID is stable")
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 42), strings.Repeat("A", 44),
		strings.Repeat("A", 42) + "B", strings.Repeat("A", 42) + "=", strings.Repeat("+", 43),
		strings.Repeat("A", 41) + "é"} {
		assert.False(t, session.ValidID(bad), "%q", bad)
	}
	assert.True(t, session.ValidID(strings.Repeat("-", 42)+"A"))
	assert.True(t, session.ValidID(strings.Repeat("_", 42)+"w"))
}

func TestFingerprints(t *testing.T) {
	id := strings.Repeat("A", 43)
	x := &sessiontest.Exchange{IP: "192.0.2.1", Headers: map[string]string{"User-Agent": "ua"}}
	otherIP := &sessiontest.Exchange{IP: "192.0.2.2", Headers: map[string]string{"User-Agent": "ua"}}
	otherUA := &sessiontest.Exchange{IP: "192.0.2.1", Headers: map[string]string{"User-Agent": "ub"}}
	full := session.FingerprintIDIPUserAgent
	assert.Equal(t, full(id, x), full(id, x))
	assert.Len(t, full(id, x), 43)
	assert.NotEqual(t, full(id, x), full(id, otherIP))
	assert.NotEqual(t, full(id, x), full(id, otherUA))
	assert.NotEqual(t, full(id, x), full(strings.Repeat("B", 43), x))
	assert.NotContains(t, full(id, x), id)

	ua := session.FingerprintIDUserAgent
	assert.Equal(t, ua(id, x), ua(id, otherIP))
	assert.NotEqual(t, ua(id, x), ua(id, otherUA))

	only := session.FingerprintIDOnly
	assert.Equal(t, only(id, x), only(id, otherUA))
	assert.NotEqual(t, only(id, x), ua(id, x), "variants are domain-separated")

	// Field boundaries are unambiguous: moving bytes between IP and UA
	// changes the key.
	a := &sessiontest.Exchange{IP: "1.2.3.4", Headers: map[string]string{"User-Agent": "5"}}
	b := &sessiontest.Exchange{IP: "1.2.3.", Headers: map[string]string{"User-Agent": "45"}}
	assert.NotEqual(t, full(id, a), full(id, b))
	// Long headers work.
	long := &sessiontest.Exchange{IP: "::1", Headers: map[string]string{"User-Agent": strings.Repeat("x", 5000)}}
	assert.Len(t, full(id, long), 43)
}

func TestLazyAndNewSessions(t *testing.T) {
	e := newEnv(t)
	c := newClient()

	// Untouched: no store call, no cookie.
	x := e.request(c, nil)
	assert.Nil(t, cookieOf(x))
	assert.Zero(t, e.count.Total())

	// Read-only new session: nothing stored, no cookie.
	x = e.request(c, func(s *session.Session) {
		assert.True(t, s.IsNew())
		assert.Nil(t, s.Get("missing"))
		assert.False(t, s.Has("missing"))
		assert.Empty(t, s.Keys())
		assert.Zero(t, s.Len())
	})
	assert.Nil(t, cookieOf(x))
	assert.Zero(t, e.count.Total())

	// Writing stores it and sets the cookie.
	x = e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	require.NotNil(t, cookieOf(x))
	_, sets, _ := e.count.Calls()
	assert.EqualValues(t, 1, sets)
	assert.Equal(t, 1, e.storeLen())

	// A read of a stored session: one get, no write, no cookie.
	g0, s0, _ := e.count.Calls()
	x = e.request(c, func(s *session.Session) {
		assert.False(t, s.IsNew())
		assert.Equal(t, "ann", s.Get("user"))
	})
	g1, s1, _ := e.count.Calls()
	assert.Nil(t, cookieOf(x))
	assert.EqualValues(t, 1, g1-g0)
	assert.EqualValues(t, 0, s1-s0)

	// Untouched with a cookie: nothing.
	before := e.count.Total()
	e.request(c, nil)
	assert.Equal(t, before, e.count.Total())
}

func TestSaveUninitialized(t *testing.T) {
	e := newEnv(t, session.WithSaveUninitialized(true))
	c := newClient()
	x := e.request(c, func(s *session.Session) {})
	require.NotNil(t, cookieOf(x))
	assert.Equal(t, 1, e.storeLen())
	e.request(c, func(s *session.Session) { assert.False(t, s.IsNew()) })
}

func TestValuesAndTypedGetter(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	now := time.Date(2025, 5, 6, 7, 8, 9, 10, time.UTC)
	e.request(c, func(s *session.Session) {
		s.Set("n", 42)
		s.Set("s", "str")
		s.Set("t", now)
		s.Set("b", []byte{1, 2})
		s.Set("gone", true)
		s.Delete("gone")
	})
	e.request(c, func(s *session.Session) {
		n, ok := session.GetAs[int](s, "n")
		assert.True(t, ok)
		assert.Equal(t, 42, n)
		_, ok = session.GetAs[string](s, "n")
		assert.False(t, ok, "wrong type")
		_, ok = session.GetAs[int](s, "missing")
		assert.False(t, ok)
		tm, _ := session.GetAs[time.Time](s, "t")
		assert.True(t, now.Equal(tm))
		assert.Equal(t, []string{"b", "n", "s", "t"}, s.Keys())
		assert.Equal(t, 4, s.Len())
		s.Clear()
		s.Set("after", 1)
	})
	e.request(c, func(s *session.Session) {
		assert.Equal(t, []string{"after"}, s.Keys())
	})
}

func TestFlashes(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) {
		assert.Nil(t, s.Flashes())
		s.AddFlash("one")
		s.AddFlash(2)
	})
	e.request(c, func(s *session.Session) {
		assert.Equal(t, []any{"one", 2}, s.Flashes())
		assert.Nil(t, s.Flashes())
	})
	e.request(c, func(s *session.Session) { assert.Nil(t, s.Flashes()) })
}

func TestRegenerateKeepsValuesAndKillsOldID(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("cart", "3 items") })
	old := c.cookie
	created := time.Time{}
	x := e.request(c, func(s *session.Session) {
		created = s.CreatedAt()
		s.Regenerate()
		s.Set("user", "ann")
		assert.True(t, s.IsNew())
	})
	require.NotNil(t, cookieOf(x))
	assert.NotEqual(t, old, c.cookie)
	assert.Equal(t, 2, e.storeLen(), "the new record and, under the old key, the marker of the move")
	e.request(c, func(s *session.Session) {
		assert.Equal(t, "3 items", s.Get("cart"))
		assert.Equal(t, "ann", s.Get("user"))
		assert.Equal(t, created, s.CreatedAt(), "regenerate keeps the creation time")
	})
	stale := &client{ip: c.ip, ua: c.ua, cookie: old}
	e.request(stale, func(s *session.Session) {
		assert.True(t, s.IsNew())
		assert.Nil(t, s.Get("cart"))
	})
}

func TestDestroy(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	old := c.cookie
	x := e.request(c, func(s *session.Session) { s.Destroy() })
	ck := cookieOf(x)
	require.NotNil(t, ck)
	assert.Equal(t, -1, ck.MaxAge)
	assert.Empty(t, ck.Value)
	assert.Zero(t, e.storeLen())
	assert.Empty(t, c.cookie)

	// Destroying a new session without a cookie sets no cookie.
	x = e.request(newClient(), func(s *session.Session) { s.Destroy() })
	assert.Nil(t, cookieOf(x))

	// Destroy, then set: a fresh session under a fresh ID.
	c2 := newClient()
	e.request(c2, func(s *session.Session) { s.Set("user", "bob") })
	old2 := c2.cookie
	e.request(c2, func(s *session.Session) {
		s.Destroy()
		assert.Nil(t, s.Get("user"))
		s.AddFlash("logged out")
	})
	assert.NotEqual(t, old2, c2.cookie)
	assert.NotEqual(t, old, c2.cookie)
	e.request(c2, func(s *session.Session) {
		assert.Equal(t, []any{"logged out"}, s.Flashes())
		assert.False(t, s.Has("user"))
	})
	assert.Equal(t, 1, e.storeLen())
}

func TestFingerprintMismatchGivesFreshSession(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	for _, thief := range []*client{
		{ip: "198.51.100.7", ua: c.ua, cookie: c.cookie},
		{ip: c.ip, ua: "curl/8", cookie: c.cookie},
	} {
		x := e.request(thief, func(s *session.Session) {
			assert.True(t, s.IsNew())
			assert.Nil(t, s.Get("user"))
			s.Set("x", 1)
		})
		assert.NotEqual(t, c.cookie, cookieOf(x).Value, "a replayed ID must never be adopted")
	}
	e.request(c, func(s *session.Session) { assert.Equal(t, "ann", s.Get("user")) })
}

func TestHostileCookies(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	valid := c.cookie
	for name, vals := range map[string][]string{
		"garbage":         {"<script>"},
		"oversized":       {strings.Repeat("A", 9000)},
		"truncated":       {valid[:20]},
		"non-ascii":       {strings.Repeat("ü", 21) + "A"},
		"duplicate":       {valid, strings.Repeat("A", 43)},
		"duplicate-trash": {"trash", valid},
	} {
		x := &sessiontest.Exchange{IP: c.ip, Headers: map[string]string{"User-Agent": c.ua},
			CookieMap: map[string][]string{"sid": vals}}
		before := e.count.Total()
		s, err := begin(e.m, x).Session()
		require.NoError(t, err, name)
		assert.True(t, s.IsNew(), name)
		assert.Equal(t, before, e.count.Total(), "%s: no store call for a malformed or ambiguous cookie", name)
	}
	// The same value twice is not ambiguous.
	x := &sessiontest.Exchange{IP: c.ip, Headers: map[string]string{"User-Agent": c.ua},
		CookieMap: map[string][]string{"sid": {valid, valid}}}
	s, err := begin(e.m, x).Session()
	require.NoError(t, err)
	assert.Equal(t, "ann", s.Get("user"))
}

func TestIdleTimeoutAndTouch(t *testing.T) {
	e := newEnv(t, session.WithIdleTimeout(30*time.Minute), session.WithPersistentCookie(true))
	c := newClient()
	x := e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	assert.Equal(t, 1800, cookieOf(x).MaxAge)

	// Within a tenth of the idle timeout a read writes nothing.
	e.clock.Advance(2 * time.Minute)
	_, s0, _ := e.count.Calls()
	x = e.request(c, func(s *session.Session) { s.Get("user") })
	_, s1, _ := e.count.Calls()
	assert.Equal(t, s0, s1)
	assert.Nil(t, cookieOf(x))

	// Past it, a read pushes the deadline (one write) and renews the cookie.
	e.clock.Advance(2 * time.Minute)
	x = e.request(c, func(s *session.Session) { s.Get("user") })
	_, s2, _ := e.count.Calls()
	assert.Equal(t, s1+1, s2)
	require.NotNil(t, cookieOf(x))
	assert.Equal(t, 1800, cookieOf(x).MaxAge)

	// Explicit Touch always writes.
	e.request(c, func(s *session.Session) { s.Touch() })
	_, s3, _ := e.count.Calls()
	assert.Equal(t, s2+1, s3)

	// Idle for longer than the timeout: gone.
	e.clock.Advance(31 * time.Minute)
	e.request(c, func(s *session.Session) {
		assert.True(t, s.IsNew())
		assert.Nil(t, s.Get("user"))
	})
}

// longExpiryStore hands the store a much later expiry than the Manager asked
// for, to prove the Manager enforces its deadlines itself.
type longExpiryStore struct{ session.VersionedStore }

func (l longExpiryStore) Set(ctx context.Context, k string, d []byte, exp time.Time) error {
	return l.VersionedStore.Set(ctx, k, d, exp.Add(24*time.Hour))
}

func (l longExpiryStore) SetVersion(ctx context.Context, k string, d []byte, exp time.Time, v uint64) (uint64, error) {
	return l.VersionedStore.SetVersion(ctx, k, d, exp.Add(24*time.Hour), v)
}

func TestLifetimeEnforcedWhateverTheStore(t *testing.T) {
	clk := newClock()
	mem := testenv.MemoryStore(t, session.WithReapInterval(0), session.WithMaxAge(72*time.Hour))
	m, err := session.NewManager(session.WithStore(longExpiryStore{mem}), session.WithLifetime(time.Hour),
		session.WithIdleTimeout(20*time.Minute))
	require.NoError(t, err)
	session.SetClock(m, mem, clk.Now)
	c := newClient()
	run := func(fn func(*session.Session)) {
		x := c.exchange()
		h := begin(m, x)
		s, err := h.Session()
		require.NoError(t, err)
		fn(s)
		require.NoError(t, h.Commit())
		if ck := x.LastCookie(); ck != nil {
			c.cookie = ck.Value
		}
	}
	run(func(s *session.Session) { s.Set("user", "ann") })
	// Keep it busy past the absolute lifetime, regenerating on the way.
	for i := range 5 {
		clk.Advance(10 * time.Minute)
		run(func(s *session.Session) {
			require.False(t, s.IsNew(), "step %d", i)
			s.Set("step", i)
			if i == 3 {
				s.Regenerate()
			}
		})
	}
	clk.Advance(11 * time.Minute) // 61 minutes after creation
	run(func(s *session.Session) {
		assert.True(t, s.IsNew(), "the absolute lifetime holds across activity and Regenerate")
	})
	// Idle deadline, enforced by the Manager although the store keeps it.
	c.cookie = ""
	run(func(s *session.Session) { s.Set("user", "bob") })
	clk.Advance(21 * time.Minute)
	run(func(s *session.Session) { assert.True(t, s.IsNew()) })
}

func TestConcurrentRequestsMergeTheirOwnChanges(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) {
		s.Set("a", 1)
		s.Set("b", 1)
		s.Set("c", 1)
	})
	// Three requests load the same version, then commit in turn.
	begin := func() (*session.Handle, *session.Session) {
		h := begin(e.m, c.exchange())
		s, err := h.Session()
		require.NoError(t, err)
		return h, s
	}
	h1, s1 := begin()
	h2, s2 := begin()
	h3, s3 := begin()
	s1.Set("a", 2)
	s1.Set("x", "from 1")
	s2.Delete("b")
	s2.Set("y", "from 2")
	s3.Set("c", 3)
	require.NoError(t, h1.Commit())
	require.NoError(t, h2.Commit())
	require.NoError(t, h3.Commit())
	e.request(c, func(s *session.Session) {
		assert.Equal(t, []string{"a", "c", "x", "y"}, s.Keys())
		assert.Equal(t, 2, s.Get("a"))
		assert.Equal(t, 3, s.Get("c"))
	})

	// Clear in one request, a set in another: the clear wins for the keys
	// it saw, the other request's key survives.
	h4, s4 := begin()
	h5, s5 := begin()
	s4.Clear()
	s4.Set("only", true)
	s5.Set("late", true)
	require.NoError(t, h5.Commit())
	require.NoError(t, h4.Commit())
	e.request(c, func(s *session.Session) { assert.Equal(t, []string{"only"}, s.Keys()) })

	// A touch racing a write does not undo the write.
	h6, s6 := begin()
	h7, s7 := begin()
	s6.Touch()
	s7.Set("w", 1)
	require.NoError(t, h7.Commit())
	require.NoError(t, h6.Commit())
	e.request(c, func(s *session.Session) { assert.Equal(t, 1, s.Get("w")) })
}

func TestConcurrentCommitNeverResurrectsALogout(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("user", "ann") })
	h1 := begin(e.m, c.exchange())
	s1, err := h1.Session()
	require.NoError(t, err)
	e.request(&client{ip: c.ip, ua: c.ua, cookie: c.cookie}, func(s *session.Session) { s.Destroy() })
	s1.Set("cart", "1 item")
	require.NoError(t, h1.Commit())
	assert.Zero(t, e.storeLen(), "the logout stands")
}

func TestManyConcurrentWritersLoseNothing(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("start", 0) })
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := begin(e.m, c.exchange())
			s, err := h.Session()
			if !assert.NoError(t, err) {
				return
			}
			s.Set(fmt.Sprintf("k%02d", i), i)
			assert.NoError(t, h.Commit())
		}()
	}
	wg.Wait()
	e.request(c, func(s *session.Session) { assert.Equal(t, n+1, s.Len()) })
}

func TestStoreWithoutVersionsWorks(t *testing.T) {
	mem := testenv.MemoryStore(t, session.WithReapInterval(0))
	m, err := session.NewManager(session.WithStore(testenv.NewPlainStore(mem)))
	require.NoError(t, err)
	c := newClient()
	for i := range 3 {
		x := c.exchange()
		h := begin(m, x)
		s, err := h.Session()
		require.NoError(t, err)
		n, _ := session.GetAs[int](s, "n")
		require.Equal(t, i, n)
		s.Set("n", n+1)
		require.NoError(t, h.Commit())
		if ck := x.LastCookie(); ck != nil {
			c.cookie = ck.Value
		}
	}
}

// conflictStore always reports a conflict on update.
type conflictStore struct{ *session.MemoryStore }

func (c conflictStore) SetVersion(ctx context.Context, k string, d []byte, exp time.Time, v uint64) (uint64, error) {
	if v == 0 {
		return c.MemoryStore.SetVersion(ctx, k, d, exp, v)
	}
	return 0, session.ErrConflict
}

// conflictingSession returns a Manager over a conflictStore and a client
// holding a stored session with a=1, whose every update conflicts.
func conflictingSession(t *testing.T) (*session.Manager, *client) {
	t.Helper()
	mem := testenv.MemoryStore(t, session.WithReapInterval(0))
	m, err := session.NewManager(session.WithStore(conflictStore{mem}))
	require.NoError(t, err)
	c := newClient()
	x := c.exchange()
	h := begin(m, x)
	s, _ := h.Session()
	s.Set("a", 1)
	require.NoError(t, h.Commit())
	c.cookie = x.LastCookie().Value
	return m, c
}

func TestEndlessConflictIsAnError(t *testing.T) {
	m, c := conflictingSession(t)
	h := begin(m, c.exchange())
	s, err := h.Session()
	require.NoError(t, err)
	s.Set("a", 2)
	err = h.Commit()
	assert.ErrorIs(t, err, session.ErrStore)
	assert.ErrorIs(t, err, session.ErrConflict)
}

func TestLateChangesAreReportedNotSaved(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("a", 1) })
	h := begin(e.m, c.exchange())
	s, err := h.Session()
	require.NoError(t, err)
	require.NoError(t, h.Commit()) // the headers went out
	s.Set("a", 2)
	s.Delete("b")
	s.Clear()
	s.Touch()
	s.AddFlash("x")
	s.Regenerate()
	s.Destroy()
	err = h.Commit()
	require.ErrorIs(t, err, session.ErrLateChange)
	assert.Contains(t, e.log.String(), "changed after the response headers were sent")
	assert.NotContains(t, e.log.String(), c.cookie, "no session ID in logs")
	require.NoError(t, h.Commit(), "reported once")
	e.request(c, func(s *session.Session) { assert.Equal(t, 1, s.Get("a")) })

	// A session first loaded after the commit is read-only too.
	h = begin(e.m, c.exchange())
	require.NoError(t, h.Commit())
	s, err = h.Session()
	require.NoError(t, err)
	assert.Equal(t, 1, s.Get("a"))
	s.Set("a", 3)
	assert.ErrorIs(t, h.Commit(), session.ErrLateChange)
	e.request(c, func(s *session.Session) { assert.Equal(t, 1, s.Get("a")) })
}

func TestStoreErrors(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("a", 1) })
	e.fail.SetDown(true)

	h := begin(e.m, c.exchange())
	s, err := h.Session()
	assert.Nil(t, s)
	require.ErrorIs(t, err, session.ErrStore)
	require.ErrorIs(t, err, testenv.ErrDown)
	_, err2 := h.Session()
	assert.Equal(t, err, err2, "the failure sticks for the request")
	assert.NoError(t, h.Commit(), "nothing to commit: no session was handed out")

	// A new session whose save fails.
	x := newClient().exchange()
	h = begin(e.m, x)
	s, err = h.Session()
	require.NoError(t, err)
	s.Set("a", 1)
	err = h.Commit()
	require.ErrorIs(t, err, session.ErrStore)
	assert.Nil(t, x.LastCookie(), "no cookie for a session that was not saved")
	assert.NotContains(t, err.Error(), s.ID())

	// Delete failing after regenerate.
	e.fail.SetDown(false)
	x = c.exchange()
	h = begin(e.m, x)
	s, err = h.Session()
	require.NoError(t, err)
	s.Regenerate()
	e.fail.SetDown(true)
	require.ErrorIs(t, h.Commit(), session.ErrStore)
	assert.Nil(t, x.LastCookie(), "no new ID is handed out while the old one could not be deleted")

	e.fail.SetDown(false)
	e.request(c, func(s *session.Session) { assert.Equal(t, 1, s.Get("a")) })
}

func TestCorruptRecordIsAnError(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("a", 1) })
	key := session.FingerprintIDIPUserAgent(c.cookie, c.exchange())
	require.NoError(t, e.mem.Set(context.Background(), key, []byte("SK\x01\x00"), e.clock.Now().Add(time.Hour)))
	_, err := begin(e.m, c.exchange()).Session()
	require.ErrorIs(t, err, session.ErrCorrupt)
}

func TestConcurrentUseWithinOneRequest(t *testing.T) {
	e := newEnv(t)
	c := newClient()
	h := begin(e.m, c.exchange())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := h.Session()
			if !assert.NoError(t, err) {
				return
			}
			for j := range 50 {
				k := fmt.Sprintf("g%d-%d", i, j)
				s.Set(k, j)
				_ = s.Get(k)
				_ = s.Keys()
				s.AddFlash(j)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, h.Commit())
	s, _ := h.Session()
	assert.Equal(t, 8*50, s.Len())
	assert.Len(t, s.Flashes(), 0, "read-only after the commit")
}

func TestJSONCodecManager(t *testing.T) {
	e := newEnv(t, session.WithCodec(session.JSONCodec{}))
	c := newClient()
	e.request(c, func(s *session.Session) { s.Set("n", 3); s.Set("user", "ann") })
	e.request(c, func(s *session.Session) {
		assert.Equal(t, float64(3), s.Get("n"), "JSON numbers come back as float64")
		assert.Equal(t, "ann", s.Get("user"))
	})
}

func TestEncodeFailureIsAnError(t *testing.T) {
	e := newEnv(t)
	x := newClient().exchange()
	h := begin(e.m, x)
	s, err := h.Session()
	require.NoError(t, err)
	err = s.Set("f", func() {}) // no codec encodes a func
	require.Error(t, err, "Set reports a value the codec cannot encode")
	assert.Contains(t, err.Error(), `"f"`)
	assert.False(t, s.Has("f"), "nothing is stored")
	require.NoError(t, s.Set("list", []any{1}))
	s.Get("list").([]any)[0] = func() {} // changed behind Set's back: only the commit can tell
	err = h.Commit()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "encode")
	assert.Nil(t, x.LastCookie())
}

// keyFails is a store whose writes and deletes of one key fail.
type keyFails struct {
	*session.MemoryStore
	key string
}

func (k *keyFails) SetVersion(ctx context.Context, key string, d []byte, exp time.Time, v uint64) (uint64, error) {
	if key == k.key {
		return 0, testenv.ErrDown
	}
	return k.MemoryStore.SetVersion(ctx, key, d, exp, v)
}

func (k *keyFails) Delete(ctx context.Context, key string) error {
	if key == k.key {
		return testenv.ErrDown
	}
	return k.MemoryStore.Delete(ctx, key)
}

func TestRegenerateWhoseOldRecordCannotBeDeletedHandsOutNoNewID(t *testing.T) {
	mem := testenv.MemoryStore(t, session.WithReapInterval(0))
	store := &keyFails{MemoryStore: mem}
	m, err := session.NewManager(session.WithStore(store))
	require.NoError(t, err)
	c := newClient()
	x := c.exchange()
	h := begin(m, x)
	s, _ := h.Session()
	s.Set("user", "ann")
	require.NoError(t, h.Commit())
	c.cookie = x.LastCookie().Value
	store.key = session.FingerprintIDIPUserAgent(c.cookie, x)

	x = c.exchange()
	h = begin(m, x)
	s, err = h.Session()
	require.NoError(t, err)
	s.Regenerate()
	require.ErrorIs(t, h.Commit(), session.ErrStore)
	assert.Nil(t, x.LastCookie())
	assert.Equal(t, 1, session.RawLen(mem), "the copy under the new ID is removed again")

	x = c.exchange()
	h = begin(m, x)
	s, _ = h.Session()
	s.Destroy()
	require.ErrorIs(t, h.Commit(), session.ErrStore)
	assert.Nil(t, x.LastCookie(), "a failed logout does not pretend to have worked")
}

func TestConflictRetriesStopAtTheRequestDeadline(t *testing.T) {
	m, c := conflictingSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	x := c.exchange()
	x.Ctx = ctx
	h := begin(m, x)
	s, err := h.Session()
	require.NoError(t, err)
	s.Set("a", 2)
	start := time.Now()
	err = h.Commit()
	assert.ErrorIs(t, err, session.ErrStore)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// stallStore blocks every call until its context ends.
type stallStore struct{ *session.MemoryStore }

func (stallStore) GetVersion(ctx context.Context, _ string) ([]byte, uint64, error) {
	<-ctx.Done()
	return nil, 0, ctx.Err()
}

func (stallStore) SetVersion(ctx context.Context, _ string, _ []byte, _ time.Time, _ uint64) (uint64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

var _ session.VersionedStore = stallStore{}

func TestStoreTimeoutBoundsAStalledStore(t *testing.T) {
	_, err := session.NewManager(session.WithStoreTimeout(-time.Second))
	require.Error(t, err)
	mem := testenv.MemoryStore(t, session.WithReapInterval(0))
	m, err := session.NewManager(session.WithStore(stallStore{mem}), session.WithStoreTimeout(20*time.Millisecond))
	require.NoError(t, err)

	x := newClient().exchange()
	h := begin(m, x)
	s, err := h.Session()
	require.NoError(t, err)
	s.Set("a", 1)
	start := time.Now()
	err = h.Commit()
	assert.ErrorIs(t, err, session.ErrStore)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)

	c := &client{ip: "192.0.2.1", ua: "ua", cookie: strings.Repeat("A", 43)}
	_, err = begin(m, c.exchange()).Session()
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
