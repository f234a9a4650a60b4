package loadtest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRequestsOneSession shares one session's cookie between 16
// goroutines that each write 10 keys of their own at the same time, on
// every framework, on the memory store and on Redis. Expected: every
// acknowledged write (204) is read back — concurrent commits of one
// session merge, none undoes another — and no response moves the session
// to another ID. On the memory store every write is acknowledged; on
// Redis some are refused with 500 (see TestConcurrentWritersNoConflictErrors),
// which loses nothing but fails the request.
func TestConcurrentRequestsOneSession(t *testing.T) {
	const goroutines, writesEach = 16, 10
	for _, fw := range Frameworks {
		for _, st := range []struct{ name, spec string }{{"memory", "memory"}, {"redis", redisURL()}} {
			t.Run(fw+"/"+st.name, func(t *testing.T) {
				d := startDemo(t, fw, "-store", st.spec, "-lifetime", storeLifetime)
				res := concurrentSession(t, d, goroutines, writesEach)
				t.Logf("%s %s: %s", fw, st.name, res)
				if res.Survived != res.Acknowledged || res.Split != 0 || res.Acknowledged < goroutines*writesEach/2 {
					t.Errorf("%s, want every acknowledged write read back, most acknowledged, no split; problems: %q", res, res.Problems)
				}
				if st.name == "memory" && res.Errors != 0 {
					t.Errorf("%s, want no error on the memory store; problems: %q", res, res.Problems)
				}
				for _, p := range res.Problems {
					if !strings.HasPrefix(p, "PUT ") || !strings.Contains(p, ": 500 ") {
						t.Errorf("a failure other than a refused write: %s", p)
					}
				}
			})
		}
	}
}

// TestConcurrentWritersNoConflictErrors shows a reliability bug: 32
// requests writing one Redis-backed session at the same time should all
// succeed, but the core's compare-and-swap retry (core/handle.go, write:
// up to maxCASAttempts = 16 attempts, retried at once, with no backoff)
// gives up under that contention and the adapters answer 500 ("session:
// store error: save: session: version conflict after 16 attempts"). It
// happens from 4 concurrent writers on (about 1 request in 40; 1 in 5
// with 16). Nothing acknowledged is lost. Expected once fixed (jittered
// backoff between attempts, say): no error.
func TestConcurrentWritersNoConflictErrors(t *testing.T) {
	d := startDemo(t, "nethttp", "-store", redisURL(), "-lifetime", storeLifetime)
	res := concurrentSession(t, d, 32, 10)
	t.Logf("nethttp redis: %s", res)
	if res.Errors != 0 {
		t.Errorf("%s: %d of %d concurrent writes on one session failed, want none; first: %q\nlog excerpt:\n%s",
			res, res.Errors, 320, res.Problems[0], firstLines(d.Log(), "version conflict", 2))
	}
}

func concurrentSession(t *testing.T, d *Demo, goroutines, writesEach int) *ConcurrentResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := ConcurrentSession(ctx, d.URL, goroutines, writesEach)
	if err != nil {
		t.Fatal(err)
	}
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
			if err != nil {
				t.Fatal(err)
			}
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
			if err != nil {
				t.Fatal(err)
			}
			live, err := CountLive(ctx, d.URL, ids, workers)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s -max-sessions %d: %d cookie-less requests, %d sessions still stored; RSS %d MiB before, peak %d MiB",
				fw, bound, flood, live, before>>20, peak>>20)
			if live > bound || live < bound/2 {
				t.Errorf("%d of %d flood sessions are stored, want at most %d (and at least %d: the bound evicts, it does not empty)",
					live, flood, bound, bound/2)
			}
			if peak > rssLimit {
				t.Errorf("peak RSS %d MiB, want under %d MiB", peak>>20, rssLimit>>20)
			}
			noIDsLogged(t, d, ids)

			// The control: without a bound every session stays.
			u := startDemo(t, fw)
			ids, err = Flood(ctx, u.URL, control, workers)
			if err != nil {
				t.Fatal(err)
			}
			if live, err := CountLive(ctx, u.URL, ids, workers); err != nil || live != control {
				t.Errorf("unbounded demo: %d of %d flood sessions stored (%v), want all", live, control, err)
			}
		})
	}
}

// TestMemoryBoundKeepsSessionsBelowIt shows a bug in the MemoryStore
// bound: MaxEntries is enforced per shard, as ceil(MaxEntries/256) records
// in each of the 256 shards (core/memory.go, NewMemoryStore sets shardCap,
// put evicts when len(sh.m) >= shardCap), so a store far from full evicts
// live sessions as soon as one shard is full. With -max-sessions 256 each
// shard holds one record: 100 logged-in users (40% of the bound) collide
// in some shard with near certainty (birthday bound) and some are logged
// out. The doc promises eviction "when the store is full". Expected once
// fixed: all 100 sessions stay.
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
	if live != users {
		t.Errorf("%d of %d logged-in sessions survived in a store bounded to %d sessions, want all: the bound evicts per shard, long before the store is full",
			live, users, bound)
	}
}
