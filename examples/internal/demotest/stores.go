package demotest

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/require"
)

// StoreLifetime is the -lifetime the tests give demos on Redis and
// PostgreSQL, so that the sessions they leave behind expire soon.
const StoreLifetime = "10m"

// TestDemo is the whole in-process test of one framework's demo: the
// behaviour test, the body limits and the CSRF protection on the memory
// store (with the default flags), on Redis, PostgreSQL and SQLite, the
// token-header mode, the end of a rotation's grace, the connection
// timeouts, and the store-failure test. A store that cannot be
// reached fails the test; nothing is skipped.
func TestDemo(t *testing.T, framework string, build demo.BuildFunc) {
	t.Run("Memory", func(t *testing.T) {
		check(t, Start(t, framework, build), session.DefaultLifetime)
	})
	lifetime, _ := time.ParseDuration(StoreLifetime)
	// 50 concurrent increments of one session (ConcurrentViewsAllCount)
	// take turns by compare-and-swap; under -race, beside the other
	// packages' tests on two cores, the last one can need more than the
	// default 3 s store timeout. The test is about merging, not latency.
	const storeTimeout = "15s"
	t.Run("Redis", func(t *testing.T) {
		check(t, Start(t, framework, build, "-store", RedisURL, "-lifetime", StoreLifetime, "-store-timeout", storeTimeout), lifetime)
	})
	t.Run("Postgres", func(t *testing.T) {
		check(t, Start(t, framework, build, "-store", PostgresURL, "-lifetime", StoreLifetime, "-store-timeout", storeTimeout), lifetime)
	})
	t.Run("SQLite", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
		// modernc.org/sqlite is C translated to Go: under -race every
		// statement is instrumented and 4 to 20 times slower, and the
		// increments queue on its single writer.
		check(t, Start(t, framework, build, "-store", db, "-lifetime", StoreLifetime, "-store-timeout", "30s"), lifetime)
	})
	t.Run("TokenHeader", func(t *testing.T) {
		d := Start(t, framework, build, "-token-header", "X-Session-Token")
		NoIDsLogged(t, d, Token(t, d.URL, "X-Session-Token"))
	})
	t.Run("RotateGrace", func(t *testing.T) {
		const grace = 400 * time.Millisecond
		d := Start(t, framework, build, "-rotate-grace", grace.String())
		NoIDsLogged(t, d, RotateGrace(t, d.URL, grace))
	})
	t.Run("SlowClients", func(t *testing.T) { SlowClients(t, framework, build) })
	t.Run("StoreDown", func(t *testing.T) { StoreDown(t, framework, build) })
}

// check runs the behaviour test, Features, BodyLimits and CrossOrigin
// against d, started with -lifetime lifetime, then checks that d logged
// none of the session IDs it handed out.
func check(t *testing.T, d *Demo, lifetime time.Duration) {
	var ids []string
	t.Run("Behaviour", func(t *testing.T) { ids = append(ids, Behaviour(t, d.URL)...) })
	t.Run("Features", func(t *testing.T) { ids = append(ids, Features(t, d.URL, lifetime)...) })
	t.Run("BodyLimits", func(t *testing.T) { ids = append(ids, BodyLimits(t, d)...) })
	t.Run("CrossOrigin", func(t *testing.T) { ids = append(ids, CrossOrigin(t, d.URL)...) })
	NoIDsLogged(t, d, ids)
}

// StoreDown runs the demo on Redis reached through a TCP proxy, cuts the
// proxy, and checks that session routes answer 500 through the
// framework's error path without internal detail and without a cookie,
// that the failure is logged, that /healthz is unaffected, and that the
// session is back once the proxy is.
func StoreDown(t *testing.T, framework string, build demo.BuildFunc) {
	p := testenv.StartProxy(t, "127.0.0.1:6379")
	d := Start(t, framework, build, "-store", "redis://"+p.Addr()+"/11?max_retries=-1", "-lifetime", StoreLifetime)
	c := NewClient(t, d.URL)
	c.Get("/api/session").Want(200, ctJSON, StateJSON(1, ""))
	sid := c.SID

	p.Cut()
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/session"}, {"GET", "/api/peek"}, {"GET", "/"}, {"POST", "/api/logout"},
		{"GET", "/api/values/k"}, {"GET", "/api/stream"},
	} {
		r := c.Do(req.method, req.path, "", nil)
		require.Equal(t, 500, r.Status, "%s %s with the store down: body %q", req.method, req.path, r.Body)
		r.NoCookie()
		low := strings.ToLower(r.Body)
		for _, leak := range []string{"redis", "session", "store", "dial", "refused", "eof", "127.0.0.1", "connection"} {
			require.NotContains(t, low, leak, "%s %s with the store down answered %q, which reveals internals", req.method, req.path, r.Body)
		}
	}
	// A new session fails when the commit cannot store it, just before
	// the headers go out: the adapter answers 500 instead.
	fresh := c.With(d.URL, "")
	for _, path := range []string{"/api/session", "/api/stream"} {
		r := fresh.Get(path).NoCookie()
		require.Equal(t, 500, r.Status, "GET %s for a new session with the store down: body %q", path, r.Body)
	}
	c.Get("/healthz").Want(200, ctText, "ok\n").NoCookie()
	if testing.Verbose() {
		t.Logf("log with the store down:\n%s", d.Log())
	}
	require.Regexp(t, regexp.MustCompile(`level=ERROR .*session: store error: load: `), d.Log(),
		"the store failure was not logged with its cause")

	p.Restore()
	require.Equal(t, sid, c.SID, "the cookie changed while the store was down")
	c.Get("/api/session").Want(200, ctJSON, StateJSON(2, "")).NoCookie()
	NoIDsLogged(t, d, c.Seen())
}
