package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerDownAndBack runs a Manager on a store whose redis-server this
// test owns, kills the server (SIGKILL, then SIGTERM), checks that loads and
// commits fail with ErrStore within the request's deadline instead of
// hanging or panicking, restarts the server on the same port and checks
// that the same store and client recover by themselves.
func TestServerDownAndBack(t *testing.T) {
	logTo(t)
	srv := testenv.StartRedisServer(t)
	c := redis.NewClient(&redis.Options{
		Addr:                  srv.Addr(),
		DialTimeout:           200 * time.Millisecond,
		ReadTimeout:           300 * time.Millisecond,
		WriteTimeout:          300 * time.Millisecond,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	s := mustNew(t, c)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)

	// request runs one request with a 1.5 s deadline; handler may be nil.
	request := func(cookie *string, handler func(*session.Session)) (loadErr, commitErr error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		x := client(cookie)
		x.Ctx = ctx
		start := time.Now()
		defer func() {
			if loadErr != nil || commitErr != nil {
				t.Logf("request failed after %v: load %v, commit %v", time.Since(start).Round(time.Millisecond), loadErr, commitErr)
			}
		}()
		within(t, 10*time.Second, "a request while Redis is down", func() {
			h := testenv.Begin(m, x)
			sess, err := h.Session()
			if err != nil {
				loadErr = err
				return
			}
			if handler != nil {
				handler(sess)
			}
			commitErr = h.Commit()
		})
		if ck := x.LastCookie(); ck != nil && commitErr == nil && loadErr == nil {
			*cookie = ck.Value
		}
		return loadErr, commitErr
	}

	var cookie string
	loadErr, commitErr := request(&cookie, func(s *session.Session) { s.Set("user", "ann") })
	require.NoError(t, loadErr, "load with Redis up")
	require.NoError(t, commitErr, "commit with Redis up")
	require.NotEmpty(t, cookie, "cookie with Redis up")

	for round, down := range []struct {
		sig  string
		stop func()
	}{{"SIGKILL", srv.Kill}, {"SIGTERM", srv.Stop}} {
		sig := down.sig
		down.stop()

		// A session with a cookie: the load fails.
		existing := cookie
		loadErr, _ := request(&existing, func(*session.Session) { assert.Fail(t, "handler ran although the load failed") })
		require.ErrorIs(t, loadErr, session.ErrStore, "round %d (%v): load with Redis down", round, sig)
		// A new session: no load, the commit fails.
		var fresh string
		loadErr, commitErr := request(&fresh, func(s *session.Session) { s.Set("user", "bob") })
		require.NoError(t, loadErr, "round %d (%v): new session with Redis down: load", round, sig)
		require.ErrorIs(t, commitErr, session.ErrStore, "round %d (%v): new session with Redis down: commit", round, sig)
		require.Empty(t, fresh, "round %d: a cookie was set for a session that was not stored", round)
		// The store's own methods fail too, and not with ErrNotFound.
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		var getErr error
		within(t, 10*time.Second, "Get while Redis is down", func() { _, getErr = s.Get(ctx, "k") })
		cancel()
		require.Error(t, getErr, "round %d: Get with Redis down: want a connection error", round)
		require.NotErrorIs(t, getErr, session.ErrNotFound, "round %d: Get with Redis down: want a connection error", round)

		srv.Restart() // same port, empty data set
		recovered := false
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var ck string
			loadErr, commitErr := request(&ck, func(s *session.Session) { s.Set("user", "cy") })
			if loadErr == nil && commitErr == nil && ck != "" {
				loadErr, _ = request(&ck, func(s *session.Session) {
					assert.False(t, s.IsNew(), "round %d: after recovery the session did not round-trip", round)
					assert.Equal(t, "cy", s.Get("user"), "round %d: after recovery the session did not round-trip", round)
				})
				if loadErr == nil {
					recovered, cookie = true, ck
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.True(t, recovered, "round %d: the store did not recover within 20s of Redis restarting", round)
		// The old session died with the server's memory: a fresh one, no error.
		old := existing
		loadErr, _ = request(&old, func(s *session.Session) {
			assert.True(t, s.IsNew(), "round %d: a session from before the restart came back", round)
		})
		require.NoError(t, loadErr, "round %d: load of a lost session", round)
	}
}

// TestScriptNotCached checks the EVALSHA → EVAL fallback on a server that
// does not have the script (a fresh server, then after SCRIPT FLUSH): the
// write succeeds, at the cost of one more command, once.
func TestScriptNotCached(t *testing.T) {
	ctx := context.Background()
	srv := testenv.StartRedisServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Ping(ctx).Err())
	var n rediscount.Counter
	c.AddHook(&n)
	s := mustNew(t, c)
	exp := time.Now().Add(time.Minute)

	for round := range 2 {
		n.Reset()
		require.NoError(t, setVersion(s, ctx, "k", []byte("a"), exp, 0))
		require.EqualValues(t, 2, n.Commands(), "round %d: commands of the first SetVersion on a server without the script (EVALSHA, EVAL)", round)
		_, v, err := s.GetVersion(ctx, "k")
		require.NoError(t, err)
		n.Reset()
		require.NoError(t, setVersion(s, ctx, "k", []byte("b"), exp, v))
		require.EqualValues(t, 1, n.Commands(), "round %d: commands of SetVersion with the script cached", round)
		require.NoError(t, s.Delete(ctx, "k"))
		require.NoError(t, c.ScriptFlush(ctx).Err())
	}
}
