package pgstore_test

import (
	"context"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
)

// benchEnv is a Manager over a Store on a pool of its own whose tracer
// counts the statements sent, with one stored session.
type benchEnv struct {
	m       *session.Manager
	tr      *countTracer
	headers map[string]string
	cookies map[string][]string
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	tr := new(countTracer)
	pool := newPool(b, pgURL(), tr, 0)
	b.Cleanup(pool.Close)
	s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(uniqueTable(b)), pgstore.WithCreateTable())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{m: m, tr: tr, headers: map[string]string{"User-Agent": "bench"}}
	x := e.exchange()
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	if err != nil {
		b.Fatal(err)
	}
	sess.Set("user", "ann")
	sess.Set("n", 0)
	if err := h.Commit(); err != nil {
		b.Fatal(err)
	}
	e.cookies = map[string][]string{m.CookieName(): {x.LastCookie().Value}}
	return e
}

func (e *benchEnv) exchange() *sessiontest.Exchange {
	return &sessiontest.Exchange{IP: "192.0.2.1", Headers: e.headers, CookieMap: e.cookies}
}

// request runs one request on the stored session; write makes it change a
// value, so its commit writes.
func (e *benchEnv) request(b *testing.B, write bool, n int) {
	h := testenv.Begin(e.m, e.exchange())
	sess, err := h.Session()
	if err != nil {
		b.Fatal(err)
	}
	if sess.IsNew() || sess.Get("user") != "ann" {
		b.Fatal("the stored session was not found")
	}
	if write {
		sess.Set("n", n)
	}
	if err := h.Commit(); err != nil {
		b.Fatal(err)
	}
}

func (e *benchEnv) report(b *testing.B, start int64) {
	b.ReportAllocs()
	b.ReportMetric(float64(e.tr.n.Load()-start)/float64(b.N), "stmts/op")
}

// BenchmarkLoad is a request that reads its session: one SELECT.
func BenchmarkLoad(b *testing.B) {
	e := newBenchEnv(b)
	start := e.tr.n.Load()
	for b.Loop() {
		e.request(b, false, 0)
	}
	e.report(b, start)
}

// BenchmarkLoadParallel is BenchmarkLoad from GOMAXPROCS goroutines.
func BenchmarkLoadParallel(b *testing.B) {
	e := newBenchEnv(b)
	start := e.tr.n.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.request(b, false, 0)
		}
	})
	e.report(b, start)
}

// BenchmarkCommit is a request that loads its session and changes a value:
// one SELECT and one compare-and-swap UPDATE.
func BenchmarkCommit(b *testing.B) {
	e := newBenchEnv(b)
	start := e.tr.n.Load()
	i := 0
	for b.Loop() {
		i++
		e.request(b, true, i)
	}
	e.report(b, start)
}

// BenchmarkCommitNew is a first request that creates a session: one
// INSERT, no read (it has no cookie).
func BenchmarkCommitNew(b *testing.B) {
	e := newBenchEnv(b)
	start := e.tr.n.Load()
	for b.Loop() {
		h := testenv.Begin(e.m, &sessiontest.Exchange{IP: "192.0.2.1", Headers: e.headers})
		sess, err := h.Session()
		if err != nil {
			b.Fatal(err)
		}
		sess.Set("user", "bob")
		if err := h.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	e.report(b, start)
}
