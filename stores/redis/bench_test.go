package redisstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inside a measured loop, require and assert are called only once a
// request has failed: each call's t.Helper bookkeeping costs about 350 ns,
// and under RunParallel it takes the benchmark's mutex.

// benchSetup returns a Manager on a fresh store over c, a cookie of a stored
// session holding a few typical values, and a rediscount.Counter on c.
func benchSetup(b *testing.B, c redis.UniversalClient) (*session.Manager, string, *rediscount.Counter) {
	s := newTestStore(b, c)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(b, err)
	loadScript(b, c)
	x := client(nil)
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	require.NoError(b, err)
	sess.Set("user", "ann@example.com")
	sess.Set("uid", 4242)
	sess.Set("roles", "admin,editor")
	sess.Set("csrf", "b2f1c9e0a7d64e3f8c1a5b9d0e2f4a6c")
	require.NoError(b, h.Commit())
	var n rediscount.Counter
	c.AddHook(&n)
	return m, x.LastCookie().Value, &n
}

// benchRequest runs one request from the browser holding cookie (nil for a
// first visit), hands its session to f unless f is nil, and commits. It
// returns the first error, so that RunParallel's goroutines can use it.
func benchRequest(m *session.Manager, cookie *string, f func(*session.Session) error) error {
	h := testenv.Begin(m, client(cookie))
	if f != nil {
		sess, err := h.Session()
		if err != nil {
			return err
		}
		if err := f(sess); err != nil {
			return err
		}
	}
	return h.Commit()
}

// readUser is the handler of a request that reads its session.
func readUser(sess *session.Session) error {
	if sess.Get("user") == nil {
		return errors.New("session not loaded")
	}
	return nil
}

func benchClients(b *testing.B, f func(b *testing.B, c redis.UniversalClient)) {
	b.Run("single", func(b *testing.B) { f(b, singleClient(b)) })
	b.Run("cluster", func(b *testing.B) { f(b, clusterClient(b)) })
}

// benchRequests benchmarks, on a fresh store over each client, one
// request per iteration with f as its handler: from the browser holding
// the seeded session, or a first visit when fresh. It reports the
// commands sent per request.
func benchRequests(b *testing.B, fresh bool, f func(*session.Session) error) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		m, cookie, n := benchSetup(b, c)
		from := &cookie
		if fresh {
			from = nil
		}
		b.ReportAllocs()
		n.Reset()
		for b.Loop() {
			if err := benchRequest(m, from, f); err != nil {
				require.NoError(b, err)
			}
		}
		b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
	})
}

// BenchmarkLoad is a request that reads its session: one GET.
func BenchmarkLoad(b *testing.B) { benchRequests(b, false, readUser) }

// BenchmarkCommit is a request that changes its session: GET, then EVALSHA.
func BenchmarkCommit(b *testing.B) {
	i := 0
	benchRequests(b, false, func(sess *session.Session) error { i++; return sess.Set("n", i) })
}

// BenchmarkCommitNew is a first visit that stores a session: one EVALSHA.
func BenchmarkCommitNew(b *testing.B) {
	benchRequests(b, true, func(sess *session.Session) error { return sess.Set("user", "ann@example.com") })
}

// BenchmarkLoadParallel is BenchmarkLoad from many goroutines at once.
func BenchmarkLoadParallel(b *testing.B) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		m, cookie, n := benchSetup(b, c)
		b.ReportAllocs()
		n.Reset()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := benchRequest(m, &cookie, readUser); err != nil {
					assert.NoError(b, err) // not require: not the benchmark's goroutine
					return
				}
			}
		})
		b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
	})
}

// BenchmarkUntouched is a request that never asks for its session.
func BenchmarkUntouched(b *testing.B) {
	m, cookie, n := benchSetup(b, singleClient(b))
	b.ReportAllocs()
	n.Reset()
	for b.Loop() {
		if err := benchRequest(m, &cookie, nil); err != nil {
			require.NoError(b, err)
		}
	}
	b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
}

// BenchmarkWrites measures writes per second with 1, 8 and 64 sessions
// written at once, each by a client of its own, as the SQL stores'
// benchmarks do.
func BenchmarkWrites(b *testing.B) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		for _, n := range storetest.WriteSessions {
			b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
				var count rediscount.Counter
				c.AddHook(&count)
				storetest.NewBenchEnv(b, newTestStore(b, c), count.Commands).BenchWrites(b, n)
			})
		}
	})
}
