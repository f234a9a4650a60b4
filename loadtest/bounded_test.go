package loadtest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentRequestsOneSession shares one session's cookie between 16
// goroutines that each write 10 keys of their own at the same time, on
// every framework, on the memory store and on Redis. Expected: all 160
// writes are acknowledged (204) and all 160 are read back — concurrent
// commits of one session merge, none undoes another — no request fails,
// and no response moves the session to another ID.
func TestConcurrentRequestsOneSession(t *testing.T) {
	const goroutines, writesEach = 16, 10
	for _, fw := range Frameworks {
		for _, st := range []struct{ name, spec string }{{"memory", "memory"}, {"redis", redisURL()}} {
			t.Run(fw+"/"+st.name, func(t *testing.T) {
				d := startDemo(t, fw, "-store", st.spec, "-lifetime", storeLifetime)
				res := concurrentSession(t, d, goroutines, writesEach)
				t.Logf("%s %s: %s", fw, st.name, res)
				assert.True(t, res.Acknowledged == goroutines*writesEach && res.Survived == res.Acknowledged && res.Errors == 0 && res.Split == 0,
					"%s, want all %d acknowledged and read back, no error, no split; problems: %q", res, goroutines*writesEach, res.Problems)
			})
		}
	}
}

// TestConcurrentWritersNoConflictErrors is the regression test of a bug
// this suite found: 32 requests writing one Redis-backed session at the
// same time must all succeed. The core's compare-and-swap retry used to
// retry at once, at most 16 times, and under that contention gave up
// ("session: store error: save: session: version conflict after 16
// attempts": a 500 for about 1 request in 40 with 4 concurrent writers, 1
// in 5 with 16); it now backs off with jitter (core/handle.go, backoff).
// Expected: no error, nothing lost.
func TestConcurrentWritersNoConflictErrors(t *testing.T) {
	d := startDemo(t, "nethttp", "-store", redisURL(), "-lifetime", storeLifetime)
	res := concurrentSession(t, d, 32, 10)
	t.Logf("nethttp redis: %s", res)
	if !assert.Zero(t, res.Errors, "%s: concurrent writes on one session failed (of 320), want none", res) {
		t.Logf("first: %q\nlog excerpt:\n%s", res.Problems[0], firstLines(d.Log(), "version conflict", 2))
	}
}

func concurrentSession(t *testing.T, d *Demo, goroutines, writesEach int) *ConcurrentResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := ConcurrentSession(ctx, d.URL, goroutines, writesEach)
	require.NoError(t, err)
	return res
}

// firstLines returns the first n lines of log that contain sub.
func firstLines(log, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMemoryBoundedUnderFlood floods a demo whose memory store is bounded
// (-max-sessions 512) with cookie-less GET /api/session requests, each of
// which stores a new session, and watches the process' RSS
// (/proc/<pid>/status VmRSS) meanwhile. Expected: of the 6,000 sessions the
// flood made at most 512 are still stored afterwards (counted over HTTP
// with /api/peek, which stores nothing), and the RSS stays under
// rssLimit. The same flood on an unbounded demo keeps every session, which
// shows that the count is real.
func TestMemoryBoundedUnderFlood(t *testing.T) {
	const (
		bound    = 512
		flood    = 6000
		control  = 1500
		workers  = 8
		rssLimit = 128 << 20
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			d := startDemo(t, fw, "-max-sessions", strconv.Itoa(bound))
			before, err := d.RSS()
			require.NoError(t, err)
			var peak int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					if rss, err := d.RSS(); err == nil && rss > peak {
						peak = rss
					}
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			}()
			ids, err := Flood(ctx, d.URL, flood, workers)
			close(stop)
			wg.Wait()
			require.NoError(t, err)
			live, err := CountLive(ctx, d.URL, ids, workers)
			require.NoError(t, err)
			t.Logf("%s -max-sessions %d: %d cookie-less requests, %d sessions still stored; RSS %d MiB before, peak %d MiB",
				fw, bound, flood, live, before>>20, peak>>20)
			assert.True(t, live <= bound && live >= bound/2,
				"%d of %d flood sessions are stored, want at most %d (and at least %d: the bound evicts, it does not empty)", live, flood, bound, bound/2)
			assert.LessOrEqual(t, peak, int64(rssLimit), "peak RSS %d MiB, want under %d MiB", peak>>20, rssLimit>>20)
			noIDsLogged(t, d, ids)

			// The control: without a bound every session stays.
			u := startDemo(t, fw)
			ids, err = Flood(ctx, u.URL, control, workers)
			require.NoError(t, err)
			live, err = CountLive(ctx, u.URL, ids, workers)
			if assert.NoError(t, err) {
				assert.Equal(t, control, live, "unbounded demo: flood sessions stored, want all")
			}
		})
	}
}

// TestMemoryBoundKeepsSessionsBelowIt is the regression test of a bug
// this suite found in the MemoryStore bound: MaxEntries used to be
// enforced per shard, as ceil(MaxEntries/256) records in each of the 256
// shards, so a store far from full evicted live sessions as soon as one
// shard was full. With -max-sessions 256 each shard held one record: of
// 100 logged-in users (40% of the bound) about 18 were logged out. The
// bound now counts the whole store. Expected: all 100 sessions stay.
func TestMemoryBoundKeepsSessionsBelowIt(t *testing.T) {
	const bound, users = 256, 100
	d := startDemo(t, "nethttp", "-max-sessions", strconv.Itoa(bound))
	ids := make([]string, users)
	for i := range ids {
		ids[i] = login(t, d.URL, "user"+strconv.Itoa(i))
	}
	// CountLive counts sessions with views; these have a user instead.
	live := 0
	for _, id := range ids {
		if st := peekAs(t, d.URL, id); st.User != "" {
			live++
		}
	}
	assert.Equal(t, users, live, "logged-in sessions that survived in a store bounded to %d sessions, want all: the bound evicts per shard, long before the store is full", bound)
}
