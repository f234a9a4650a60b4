package redisstore

import (
	"context"
	"errors"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
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
	must(t, err)

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
	if loadErr != nil || commitErr != nil || cookie == "" {
		t.Fatalf("with Redis up: load %v, commit %v, cookie %q", loadErr, commitErr, cookie)
	}

	for round, down := range []struct {
		sig  string
		stop func()
	}{{"SIGKILL", srv.Kill}, {"SIGTERM", srv.Stop}} {
		sig := down.sig
		down.stop()

		// A session with a cookie: the load fails.
		existing := cookie
		loadErr, _ := request(&existing, func(*session.Session) { t.Error("handler ran although the load failed") })
		if !errors.Is(loadErr, session.ErrStore) {
			t.Fatalf("round %d (%v): load with Redis down: error = %v, want ErrStore", round, sig, loadErr)
		}
		// A new session: no load, the commit fails.
		var fresh string
		loadErr, commitErr := request(&fresh, func(s *session.Session) { s.Set("user", "bob") })
		if loadErr != nil || !errors.Is(commitErr, session.ErrStore) {
			t.Fatalf("round %d (%v): new session with Redis down: load %v, commit %v; want nil and ErrStore", round, sig, loadErr, commitErr)
		}
		if fresh != "" {
			t.Fatalf("round %d: a cookie was set for a session that was not stored", round)
		}
		// The store's own methods fail too, and not with ErrNotFound.
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		var getErr error
		within(t, 10*time.Second, "Get while Redis is down", func() { _, getErr = s.Get(ctx, "k") })
		cancel()
		if getErr == nil || errors.Is(getErr, session.ErrNotFound) {
			t.Fatalf("round %d: Get with Redis down = %v, want a connection error", round, getErr)
		}

		srv.Restart() // same port, empty data set
		recovered := false
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var ck string
			loadErr, commitErr := request(&ck, func(s *session.Session) { s.Set("user", "cy") })
			if loadErr == nil && commitErr == nil && ck != "" {
				loadErr, _ = request(&ck, func(s *session.Session) {
					if s.IsNew() || s.Get("user") != "cy" {
						t.Errorf("round %d: after recovery the session did not round-trip: new=%v user=%v", round, s.IsNew(), s.Get("user"))
					}
				})
				if loadErr == nil {
					recovered, cookie = true, ck
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !recovered {
			t.Fatalf("round %d: the store did not recover within 20s of Redis restarting", round)
		}
		// The old session died with the server's memory: a fresh one, no error.
		old := existing
		if loadErr, _ := request(&old, func(s *session.Session) {
			if !s.IsNew() {
				t.Errorf("round %d: a session from before the restart came back", round)
			}
		}); loadErr != nil {
			t.Fatalf("round %d: load of a lost session: %v", round, loadErr)
		}
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
	must(t, c.Ping(ctx).Err())
	var n rediscount.Counter
	c.AddHook(&n)
	s := mustNew(t, c)
	exp := time.Now().Add(time.Minute)

	for round := range 2 {
		n.Reset()
		must(t, setVersion(s, ctx, "k", []byte("a"), exp, 0))
		if got := n.Commands(); got != 2 {
			t.Fatalf("round %d: first SetVersion on a server without the script: %d commands, want 2 (EVALSHA, EVAL)", round, got)
		}
		_, v, err := s.GetVersion(ctx, "k")
		must(t, err)
		n.Reset()
		must(t, setVersion(s, ctx, "k", []byte("b"), exp, v))
		if got := n.Commands(); got != 1 {
			t.Fatalf("round %d: SetVersion with the script cached: %d commands, want 1", round, got)
		}
		must(t, s.Delete(ctx, "k"))
		must(t, c.ScriptFlush(ctx).Err())
	}
}
