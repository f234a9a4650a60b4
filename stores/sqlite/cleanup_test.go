package sqlitestore_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLogger sends a store's log lines to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, nil))
}

type tLogWriter struct{ t *testing.T }

func (w tLogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestCleanupNeverStallsRequests sweeps 100,000 expired records (10,000
// under -race) while
// clients keep loading and committing sessions through a Manager, and
// measures how long the slowest request took. The sweep runs in batches,
// each a short write, and requests take turns with them, so no request
// may wait for more than a small part of the sweep: an unbatched sweep
// would hold the write lock, and stall every commit, for all of it.
func TestCleanupNeverStallsRequests(t *testing.T) {
	const clients = 4
	expired := 100_000
	if raceEnabled {
		expired = 10_000 // still 10 batches; the figures are from a run without -race
	}
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path, sqlitestore.WithCleanupInterval(-1))
	plantExpired(t, rawDB(t, path), s.Table(), expired)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		during  []time.Duration // requests that ran while the sweep did
		errs    = make(chan error, clients)
		running atomic.Bool
	)
	ready := make(chan struct{}, clients)
	for c := range clients {
		wg.Go(func() {
			x := &sessiontest.Exchange{IP: fmt.Sprintf("192.0.2.%d", 100+c), Headers: map[string]string{"User-Agent": "stall"}}
			var cookie map[string][]string
			for i := 0; !stop.Load(); i++ {
				x.CookieMap = cookie
				start := time.Now()
				h := testenv.Begin(m, x)
				sess, err := h.Session()
				if err == nil {
					sess.Set("i", i)
					err = h.Commit()
				}
				took := time.Since(start)
				if err != nil {
					errs <- err
					return
				}
				if cookie == nil {
					cookie = map[string][]string{m.CookieName(): {x.LastCookie().Value}}
					ready <- struct{}{}
				}
				if running.Load() {
					mu.Lock()
					during = append(during, took)
					mu.Unlock()
				}
			}
		})
	}
	for range clients {
		<-ready
	}
	running.Store(true)
	start := time.Now()
	n, err := s.DeleteExpired(ctx)
	sweep := time.Since(start)
	running.Store(false)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "a request failed during the sweep")
	}
	require.NoError(t, err)
	require.Equal(t, int64(expired), n)
	require.Equal(t, 0, countRows(t, s.DB(), s.Table()+"_owners"))

	require.NotEmpty(t, during)
	slices.Sort(during)
	longest := during[len(during)-1]
	p99 := during[len(during)*99/100]
	t.Logf("sweep of %d expired records (+%d owner entries) took %v; %d requests (load + commit) ran meanwhile: median %v, p99 %v, longest %v",
		expired, expired, sweep.Round(time.Millisecond), len(during), during[len(during)/2], p99, longest)
	// Relative to the sweep, so that a slow, shared machine does not fail
	// it: batches of 1000 records make a hundred turns.
	assert.Less(t, longest, sweep/5, "a request stalled for a large part of the sweep")
}
