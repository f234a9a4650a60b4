package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
)

// newBenchEnv is a storetest.BenchEnv over a Store on a pool of its own
// whose tracer counts the statements sent.
func newBenchEnv(b *testing.B) *storetest.BenchEnv {
	b.Helper()
	tr := new(countTracer)
	pool := newPool(b, pgURL(), tr, 0)
	b.Cleanup(pool.Close)
	return storetest.NewBenchEnv(b, newStoreOn(b, pool), tr.n.Load)
}

// BenchmarkLoad is a request that reads its session: one SELECT.
func BenchmarkLoad(b *testing.B) { newBenchEnv(b).BenchLoad(b) }

// BenchmarkLoadParallel is BenchmarkLoad from GOMAXPROCS goroutines.
func BenchmarkLoadParallel(b *testing.B) { newBenchEnv(b).BenchLoadParallel(b) }

// BenchmarkCommit is a request that loads its session and changes a value:
// one SELECT and one compare-and-swap UPDATE.
func BenchmarkCommit(b *testing.B) { newBenchEnv(b).BenchCommit(b) }

// BenchmarkCommitNew is a first request that creates a session: one
// INSERT, no read (it has no cookie).
func BenchmarkCommitNew(b *testing.B) { newBenchEnv(b).BenchCommitNew(b) }

// BenchmarkWrites measures writes per second with 1, 8 and 64 sessions
// written at once, each by a client of its own.
func BenchmarkWrites(b *testing.B) {
	for _, n := range storetest.WriteSessions {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { newBenchEnv(b).BenchWrites(b, n) })
	}
}
