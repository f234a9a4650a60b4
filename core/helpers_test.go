package session_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// clock is a manual clock for tests that move time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a testenv.Fixture (a Manager over a counting, failing MemoryStore,
// logging into a buffer) with a manual clock.
type env struct {
	t     *testing.T
	m     *session.Manager
	mem   *session.MemoryStore
	count *testenv.CountingStore
	fail  *testenv.FailingStore
	clock *clock
	log   *testenv.LogBuffer
}

func newEnv(t *testing.T, opts ...session.Option) *env {
	t.Helper()
	mem := testenv.MemoryStore(t, session.WithReapInterval(0), session.WithMaxAge(48*time.Hour))
	f := testenv.NewFixtureOver(t, mem, opts...)
	e := &env{t: t, m: f.Manager, mem: f.Mem, count: f.Count, fail: f.Fail, clock: newClock(), log: f.Log}
	session.SetClock(e.m, e.mem, e.clock.Now)
	return e
}

// client is a browser-like peer: an IP, a User-Agent and a cookie.
type client struct {
	ip, ua string
	cookie string
}

func (c *client) exchange() *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: c.ip, Headers: map[string]string{"User-Agent": c.ua}}
	if c.cookie != "" {
		x.CookieMap = map[string][]string{session.DefaultCookieName: {c.cookie}}
	}
	return x
}

// request runs fn as a handler would, commits, and updates the client's
// cookie from the response. It returns the exchange to inspect.
func (e *env) request(c *client, fn func(s *session.Session)) *sessiontest.Exchange {
	e.t.Helper()
	x := c.exchange()
	h := begin(e.m, x)
	if fn != nil {
		s, err := h.Session()
		require.NoError(e.t, err)
		fn(s)
	}
	require.NoError(e.t, h.Commit())
	require.NoError(e.t, h.Commit())
	if ck := x.LastCookie(); ck != nil {
		if ck.MaxAge < 0 {
			c.cookie = ""
		} else {
			c.cookie = ck.Value
		}
	}
	return x
}

func (e *env) storeLen() int {
	n, err := e.mem.Len(context.Background())
	require.NoError(e.t, err)
	return n
}

func newClient() *client { return &client{ip: "192.0.2.10", ua: "test-agent/1.0"} }

func cookieOf(x *sessiontest.Exchange) *http.Cookie { return x.LastCookie() }

// begin is testenv.Begin under the short name the Examples show.
func begin(m *session.Manager, x session.Exchange) *session.Handle { return testenv.Begin(m, x) }
