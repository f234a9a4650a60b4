package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"testing"

	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
	"github.com/stretchr/testify/require"
)

// newBenchEnv is a storetest.BenchEnv over a Store on a file of its own,
// with the connections Open would make but counted, opened with the
// synchronous setting mode ("NORMAL" or "FULL").
func newBenchEnv(b *testing.B, mode string) *storetest.BenchEnv {
	b.Helper()
	cc := newCountConnector(b, "file:"+dbPath(b)+"?_busy_timeout=5000&_synchronous="+mode)
	db := sql.OpenDB(cc)
	n := max(4, runtime.GOMAXPROCS(0)) // as Open
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	b.Cleanup(func() { db.Close() })
	s, err := sqlitestore.New(context.Background(), db)
	require.NoError(b, err)
	b.Cleanup(func() { s.Close() })
	return storetest.NewBenchEnv(b, s, cc.n.Load)
}

// syncs are the synchronous settings the write benchmarks compare.
var syncs = []string{"NORMAL", "FULL"}

// BenchmarkLoad is a request that reads its session: one SELECT.
func BenchmarkLoad(b *testing.B) { newBenchEnv(b, "NORMAL").BenchLoad(b) }

// BenchmarkLoadParallel is BenchmarkLoad from GOMAXPROCS goroutines:
// readers do not wait for each other in WAL mode.
func BenchmarkLoadParallel(b *testing.B) { newBenchEnv(b, "NORMAL").BenchLoadParallel(b) }

// BenchmarkCommit is a request that loads its session and changes a value:
// one SELECT and one compare-and-swap INSERT OR REPLACE.
func BenchmarkCommit(b *testing.B) {
	for _, mode := range syncs {
		b.Run("sync="+mode, func(b *testing.B) { newBenchEnv(b, mode).BenchCommit(b) })
	}
}

// BenchmarkCommitNew is a first request that creates a session: one
// INSERT, no read (it has no cookie).
func BenchmarkCommitNew(b *testing.B) {
	for _, mode := range syncs {
		b.Run("sync="+mode, func(b *testing.B) { newBenchEnv(b, mode).BenchCommitNew(b) })
	}
}

// BenchmarkWrites measures writes per second with 1, 8 and 64 sessions
// written at once. Writes to one file take turns, so the figure shows how
// far concurrency helps: the loads overlap, the commits do not.
func BenchmarkWrites(b *testing.B) {
	for _, mode := range syncs {
		for _, n := range storetest.WriteSessions {
			b.Run(fmt.Sprintf("sync=%s/sessions=%d", mode, n), func(b *testing.B) { newBenchEnv(b, mode).BenchWrites(b, n) })
		}
	}
}
