package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
)

// benchEnv is a Manager over a Store on a file of its own, with the
// connections Open would make but counted, and one stored session.
type benchEnv struct {
	m      *session.Manager
	cc     *countConnector
	cookie string
}

// newBenchEnv opens the store with the synchronous setting mode
// ("NORMAL" or "FULL").
func newBenchEnv(b *testing.B, mode string) *benchEnv {
	b.Helper()
	cc := newCountConnector(b, "file:"+dbPath(b)+"?_busy_timeout=5000&_synchronous="+mode)
	db := sql.OpenDB(cc)
	n := max(4, runtime.GOMAXPROCS(0)) // as Open
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	b.Cleanup(func() { db.Close() })
	s, err := sqlitestore.New(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{m: m, cc: cc}
	e.cookie = e.login(b, 0)
	return e
}

// exchange is a request of client c carrying cookie.
func (e *benchEnv) exchange(c int, cookie string) *sessiontest.Exchange {
	return &sessiontest.Exchange{IP: fmt.Sprintf("192.0.2.%d", c%250+1), Headers: map[string]string{"User-Agent": "bench"},
		CookieMap: map[string][]string{e.m.CookieName(): {cookie}}}
}

// login stores a new session for client c and returns its cookie.
func (e *benchEnv) login(b *testing.B, c int) string {
	x := e.exchange(c, "")
	x.CookieMap = nil
	h := testenv.Begin(e.m, x)
	sess, err := h.Session()
	if err != nil {
		b.Fatal(err)
	}
	sess.Set("user", "ann")
	sess.Set("n", 0)
	if err := h.Commit(); err != nil {
		b.Fatal(err)
	}
	return x.LastCookie().Value
}

// request runs one request of client c on its stored session; write makes
// it change a value, so that its commit writes.
func (e *benchEnv) request(b *testing.B, c int, cookie string, write bool, n int) {
	h := testenv.Begin(e.m, e.exchange(c, cookie))
	sess, err := h.Session()
	if err != nil {
		b.Error(err)
		return
	}
	if sess.IsNew() || sess.Get("user") != "ann" {
		b.Error("the stored session was not found")
		return
	}
	if write {
		sess.Set("n", n)
	}
	if err := h.Commit(); err != nil {
		b.Error(err)
	}
}

func (e *benchEnv) report(b *testing.B, start int64) {
	b.ReportAllocs()
	b.ReportMetric(float64(e.cc.n.Load()-start)/float64(b.N), "stmts/op")
}

// syncs are the synchronous settings the write benchmarks compare.
var syncs = []string{"NORMAL", "FULL"}

// BenchmarkLoad is a request that reads its session: one SELECT.
func BenchmarkLoad(b *testing.B) {
	e := newBenchEnv(b, "NORMAL")
	start := e.cc.n.Load()
	for b.Loop() {
		e.request(b, 0, e.cookie, false, 0)
	}
	e.report(b, start)
}

// BenchmarkLoadParallel is BenchmarkLoad from GOMAXPROCS goroutines:
// readers do not wait for each other in WAL mode.
func BenchmarkLoadParallel(b *testing.B) {
	e := newBenchEnv(b, "NORMAL")
	start := e.cc.n.Load()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.request(b, 0, e.cookie, false, 0)
		}
	})
	e.report(b, start)
}

// BenchmarkCommit is a request that loads its session and changes a value:
// one SELECT and one compare-and-swap INSERT OR REPLACE.
func BenchmarkCommit(b *testing.B) {
	for _, mode := range syncs {
		b.Run("sync="+mode, func(b *testing.B) {
			e := newBenchEnv(b, mode)
			start := e.cc.n.Load()
			i := 0
			for b.Loop() {
				i++
				e.request(b, 0, e.cookie, true, i)
			}
			e.report(b, start)
		})
	}
}

// BenchmarkCommitNew is a first request that creates a session: one
// INSERT, no read (it has no cookie).
func BenchmarkCommitNew(b *testing.B) {
	for _, mode := range syncs {
		b.Run("sync="+mode, func(b *testing.B) {
			e := newBenchEnv(b, mode)
			start := e.cc.n.Load()
			for b.Loop() {
				e.login(b, 1)
			}
			e.report(b, start)
		})
	}
}

// BenchmarkWrites measures writes per second with 1, 8 and 64 sessions
// written at once, each by a client of its own (a load and a commit that
// changes a value per request). Writes to one file take turns, so the
// figure shows how far concurrency helps: the loads overlap, the commits
// do not.
func BenchmarkWrites(b *testing.B) {
	for _, mode := range syncs {
		for _, sessions := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("sync=%s/sessions=%d", mode, sessions), func(b *testing.B) {
				e := newBenchEnv(b, mode)
				cookies := make([]string, sessions)
				for c := range cookies {
					cookies[c] = e.login(b, c)
				}
				start := e.cc.n.Load()
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				b.ResetTimer()
				for c := range sessions {
					wg.Go(func() {
						for i := 0; left.Add(-1) >= 0; i++ {
							e.request(b, c, cookies[c], true, i)
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				e.report(b, start)
			})
		}
	}
}
