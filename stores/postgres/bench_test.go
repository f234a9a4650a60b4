package pgstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
)

// Inside a measured loop, require and assert are called only once a
// request has failed: each call's t.Helper bookkeeping costs about 350 ns,
// and under RunParallel it takes the benchmark's mutex.

// newBenchEnv is a storetest.BenchEnv over a Store on a pool of its own whose
// tracer counts the statements sent.
func newBenchEnv(b *testing.B) *storetest.BenchEnv {
	b.Helper()
	tr := new(countTracer)
	pool := newPool(b, pgURL(), tr, 0)
	b.Cleanup(pool.Close)
	s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(uniqueTable(b)), pgstore.WithCreateTable())
	require.NoError(b, err)
	b.Cleanup(func() { s.Close() })
	return storetest.NewBenchEnv(b, s, tr.n.Load)
}

// BenchmarkLoad is a request that reads its session: one SELECT.
func BenchmarkLoad(b *testing.B) {
	e := newBenchEnv(b)
	e.Start()
	for b.Loop() {
		if err := e.Request(0, e.Cookie, false, 0); err != nil {
			require.NoError(b, err)
		}
	}
	e.Report(b)
}

// BenchmarkLoadParallel is BenchmarkLoad from GOMAXPROCS goroutines.
func BenchmarkLoadParallel(b *testing.B) {
	e := newBenchEnv(b)
	e.Start()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.Request(0, e.Cookie, false, 0); err != nil {
				assert.NoError(b, err) // not require: not the benchmark's goroutine
				return
			}
		}
	})
	e.Report(b)
}

// BenchmarkCommit is a request that loads its session and changes a value:
// one SELECT and one compare-and-swap UPDATE.
func BenchmarkCommit(b *testing.B) {
	e := newBenchEnv(b)
	e.Start()
	i := 0
	for b.Loop() {
		i++
		if err := e.Request(0, e.Cookie, true, i); err != nil {
			require.NoError(b, err)
		}
	}
	e.Report(b)
}

// BenchmarkCommitNew is a first request that creates a session: one
// INSERT, no read (it has no cookie).
func BenchmarkCommitNew(b *testing.B) {
	e := newBenchEnv(b)
	e.Start()
	for b.Loop() {
		if _, err := e.Login(1); err != nil {
			require.NoError(b, err)
		}
	}
	e.Report(b)
}
