package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// BenchEnv is the harness of the SQL stores' benchmarks: a Manager over
// the store under benchmark, with the statement count of the store's
// database, and one session stored for client 0. Its request methods
// return errors instead of failing the benchmark, so that RunParallel's
// goroutines can call them.
type BenchEnv struct {
	Manager *session.Manager
	Cookie  string // the session stored for client 0
	stmts   func() int64
	start   int64
}

// NewBenchEnv returns a BenchEnv over s; stmts returns the number of statements sent
// to s's database so far. It fails the benchmark if the first session
// cannot be stored.
func NewBenchEnv(b *testing.B, s session.Store, stmts func() int64) *BenchEnv {
	b.Helper()
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		b.Fatalf("storetest: %v", err)
	}
	e := &BenchEnv{Manager: m, stmts: stmts}
	if e.Cookie, err = e.Login(0); err != nil {
		b.Fatalf("storetest: storing the first session: %v", err)
	}
	return e
}

// Exchange is a request of client c (each has an IP of its own) carrying
// cookie, or no cookie if it is "".
func (e *BenchEnv) Exchange(c int, cookie string) *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: fmt.Sprintf("192.0.2.%d", c%250+1), Headers: map[string]string{"User-Agent": "bench"}}
	if cookie != "" {
		x.CookieMap = map[string][]string{e.Manager.CookieName(): {cookie}}
	}
	return x
}

// Login is a first visit of client c that stores a session holding
// user=ann and n=0; it returns the session's cookie.
func (e *BenchEnv) Login(c int) (string, error) {
	x := e.Exchange(c, "")
	h := testenv.Begin(e.Manager, x)
	sess, err := h.Session()
	if err != nil {
		return "", err
	}
	sess.Set("user", "ann")
	sess.Set("n", 0)
	if err := h.Commit(); err != nil {
		return "", err
	}
	return x.LastCookie().Value, nil
}

// Request runs one request of client c on its stored session; write makes
// it set n, so that its commit writes.
func (e *BenchEnv) Request(c int, cookie string, write bool, n int) error {
	h := testenv.Begin(e.Manager, e.Exchange(c, cookie))
	sess, err := h.Session()
	if err != nil {
		return err
	}
	if sess.IsNew() || sess.Get("user") != "ann" {
		return errors.New("the stored session was not found")
	}
	if write {
		sess.Set("n", n)
	}
	return h.Commit()
}

// Start marks where the statements of the measured requests begin.
func (e *BenchEnv) Start() { e.start = e.stmts() }

// Report reports allocations, and the statements sent since Start per
// iteration as stmts/op.
func (e *BenchEnv) Report(b *testing.B) {
	b.ReportAllocs()
	b.ReportMetric(float64(e.stmts()-e.start)/float64(b.N), "stmts/op")
}

// The benchmarks both SQL stores run. The serial ones fail the benchmark
// at once; the parallel one reports with Error, as only the benchmark's
// own goroutine may stop it.

// BenchLoad is a request that reads its session.
func (e *BenchEnv) BenchLoad(b *testing.B) {
	e.Start()
	for b.Loop() {
		if err := e.Request(0, e.Cookie, false, 0); err != nil {
			b.Fatal(err)
		}
	}
	e.Report(b)
}

// BenchLoadParallel is BenchLoad from GOMAXPROCS goroutines.
func (e *BenchEnv) BenchLoadParallel(b *testing.B) {
	e.Start()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.Request(0, e.Cookie, false, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	e.Report(b)
}

// BenchCommit is a request that loads its session and changes a value.
func (e *BenchEnv) BenchCommit(b *testing.B) {
	e.Start()
	i := 0
	for b.Loop() {
		i++
		if err := e.Request(0, e.Cookie, true, i); err != nil {
			b.Fatal(err)
		}
	}
	e.Report(b)
}

// BenchCommitNew is a first request that creates a session.
func (e *BenchEnv) BenchCommitNew(b *testing.B) {
	e.Start()
	for b.Loop() {
		if _, err := e.Login(1); err != nil {
			b.Fatal(err)
		}
	}
	e.Report(b)
}

// WriteSessions are the numbers of sessions BenchWrites writes at once.
var WriteSessions = []int{1, 8, 64}

// BenchWrites measures writes per second with sessions sessions written
// at once, each by a client of its own (a load and a commit that changes a
// value per request), and reports it as writes/s.
func (e *BenchEnv) BenchWrites(b *testing.B, sessions int) {
	cookies := make([]string, sessions)
	for c := range cookies {
		var err error
		if cookies[c], err = e.Login(c); err != nil {
			b.Fatal(err)
		}
	}
	e.Start()
	var (
		left   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Value
	)
	left.Store(int64(b.N))
	b.ResetTimer()
	for c := range sessions {
		wg.Go(func() {
			for i := 0; left.Add(-1) >= 0; i++ {
				if err := e.Request(c, cookies[c], true, i); err != nil {
					failed.CompareAndSwap(nil, err) // not the benchmark's goroutine: no Fatal here
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	e.Report(b)
}
