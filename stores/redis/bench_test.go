package redisstore

import (
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"testing"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// benchSetup returns a Manager on a fresh store over c, a cookie of a stored
// session holding a few typical values, and a rediscount.Counter on c.
func benchSetup(b *testing.B, c redis.UniversalClient) (*session.Manager, string, *rediscount.Counter) {
	s := newTestStore(b, c)
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		b.Fatal(err)
	}
	loadScript(b, c)
	x := client(nil)
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	if err != nil {
		b.Fatal(err)
	}
	sess.Set("user", "ann@example.com")
	sess.Set("uid", 4242)
	sess.Set("roles", "admin,editor")
	sess.Set("csrf", "b2f1c9e0a7d64e3f8c1a5b9d0e2f4a6c")
	if err := h.Commit(); err != nil {
		b.Fatal(err)
	}
	var n rediscount.Counter
	c.AddHook(&n)
	return m, x.LastCookie().Value, &n
}

func benchClients(b *testing.B, f func(b *testing.B, c redis.UniversalClient)) {
	b.Run("single", func(b *testing.B) { f(b, singleClient(b)) })
	b.Run("cluster", func(b *testing.B) { f(b, clusterClient(b)) })
}

// BenchmarkLoad is a request that reads its session: one GET.
func BenchmarkLoad(b *testing.B) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		m, cookie, n := benchSetup(b, c)
		b.ReportAllocs()
		n.Reset()
		for b.Loop() {
			h := testenv.Begin(m, client(&cookie))
			sess, err := h.Session()
			if err != nil {
				b.Fatal(err)
			}
			if sess.Get("user") == nil {
				b.Fatal("session not loaded")
			}
			if err := h.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
	})
}

// BenchmarkCommit is a request that changes its session: GET, then EVALSHA.
func BenchmarkCommit(b *testing.B) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		m, cookie, n := benchSetup(b, c)
		b.ReportAllocs()
		n.Reset()
		i := 0
		for b.Loop() {
			h := testenv.Begin(m, client(&cookie))
			sess, err := h.Session()
			if err != nil {
				b.Fatal(err)
			}
			i++
			sess.Set("n", i)
			if err := h.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
	})
}

// BenchmarkNewSession is a first visit that stores a session: one EVALSHA.
func BenchmarkNewSession(b *testing.B) {
	benchClients(b, func(b *testing.B, c redis.UniversalClient) {
		m, _, n := benchSetup(b, c)
		b.ReportAllocs()
		n.Reset()
		for b.Loop() {
			h := testenv.Begin(m, client(nil))
			sess, err := h.Session()
			if err != nil {
				b.Fatal(err)
			}
			sess.Set("user", "ann@example.com")
			if err := h.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
	})
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
				h := testenv.Begin(m, client(&cookie))
				if _, err := h.Session(); err != nil {
					b.Error(err)
					return
				}
				h.Commit()
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
		h := testenv.Begin(m, client(&cookie))
		if err := h.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n.Commands())/float64(b.N), "cmds/op")
}
