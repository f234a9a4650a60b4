// Command memscale measures sessionkit's MemoryStore at scale: it fills a
// store with a million sessions of about 200 bytes, reports the heap each
// session costs, then expires about half of them and times the Get calls
// that concurrent goroutines make while Store.Reap sweeps them out.
//
// Usage:
//
//	go run ./cmd/memscale [-n 1000000] [-payload 200] [-expired 0.5]
//
// The sweep is timed rounds times (three by default): before each, the
// expired part is stored again, and the same readers first time Gets
// without a sweep, for comparison. It prints two lines starting with
// "memscale", made of key=value fields that cmd/results reads:
//
//	memscale size sessions=… payload_bytes=… bytes_per_session=… …
//	memscale reap expired=… reap_ms=… max_get_us=… …
//
// Bytes per session is the growth of the heap in use (runtime.MemStats
// HeapInuse, after a full GC) divided by the number of sessions: what the
// records, their keys and the store's maps cost, fragmentation included;
// live_bytes_per_session counts the live objects only (HeapAlloc).
// The timing readers are GOMAXPROCS-1 goroutines (at least one), so that
// they and the sweeper each have a core and a long Get means the store
// held them up, not that the scheduler had no core to give.
package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

func main() {
	n := flag.Int("n", 1_000_000, "sessions to store")
	payload := flag.Int("payload", 200, "bytes of each session record")
	expired := flag.Float64("expired", 0.5, "fraction of the sessions expired before the sweep")
	baseline := flag.Duration("baseline", 300*time.Millisecond, "how long to time Gets before each sweep, for comparison")
	rounds := flag.Int("rounds", 3, "sweeps to time; the expired part is stored again before each")
	flag.Parse()
	if err := run(os.Stdout, *n, *payload, *expired, *rounds, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "memscale:", err)
		os.Exit(1)
	}
}

// key returns the i-th store key: 43 characters of base64url, the shape of
// sessionkit's fingerprint keys. Keys are made again on demand rather than
// kept, so the program holds no copy of them while it measures.
// Like the fingerprint, it allocates only the returned string, so the fill
// leaves no garbage between the records to inflate the heap.
func key(i int) string {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	binary.LittleEndian.PutUint64(b[8:], uint64(i)*0x9E3779B97F4A7C15)
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// heap returns the heap in use (spans holding objects) and the bytes of
// live objects, after a full collection.
func heap() (inuse, live uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.HeapAlloc
}

func run(w io.Writer, n, payload int, expiredFrac float64, rounds int, baseline time.Duration) error {
	if n <= 0 || payload <= 0 || expiredFrac < 0 || expiredFrac > 1 || rounds < 1 {
		return fmt.Errorf("invalid flags")
	}
	ctx := context.Background()
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	expireEvery := 0 // every expireEvery-th session expires; 0: none
	if expiredFrac > 0 {
		expireEvery = max(1, int(1/expiredFrac+0.5))
	}

	before, beforeLive := heap()
	store, err := session.NewMemoryStore(session.WithReapInterval(0)) // we sweep ourselves
	if err != nil {
		return err
	}
	defer store.Close()
	expiring := func(i int) bool { return expireEvery > 0 && i%expireEvery == 0 }
	// The sessions that live are stored first. The expiring ones follow,
	// with a deadline just after their part of the fill should end (a
	// record stored past its deadline is kept all the same until a sweep).
	start := time.Now()
	late := start.Add(time.Hour)
	for i := range n {
		if !expiring(i) {
			if err := store.Set(ctx, key(i), data, late); err != nil {
				return err
			}
		}
	}
	perSet := time.Since(start) / time.Duration(max(1, n-n/max(1, expireEvery)))
	soon := time.Now().Add(perSet*time.Duration(n/max(1, expireEvery))*2 + 200*time.Millisecond)
	for i := range n {
		if expiring(i) {
			if err := store.Set(ctx, key(i), data, soon); err != nil {
				return err
			}
		}
	}
	fill := time.Since(start)
	after, afterLive := heap()
	perSession := float64(after-before) / float64(n)
	livePerSession := float64(afterLive-beforeLive) / float64(n)
	fmt.Fprintf(w, "memscale size sessions=%d payload_bytes=%d key_bytes=%d bytes_per_session=%.1f live_bytes_per_session=%.1f ratio_to_payload=%.2f fill_ms=%d\n",
		n, payload, len(key(0)), perSession, livePerSession, perSession/float64(payload), fill.Milliseconds())

	// The readers pick from keys made beforehand, so they allocate nothing
	// while timing (an allocation can be made to help the collector).
	rng := rand.New(rand.NewPCG(1, 2))
	sample := make([]string, 1<<16)
	for i := range sample {
		sample[i] = key(rng.IntN(n))
	}
	readers := max(1, runtime.GOMAXPROCS(0)-1)
	var (
		worst, base        latencies
		reapMax            time.Duration
		roundMax           []string
		expired, remaining int
	)
	for r := range rounds {
		if r > 0 { // expire the same part again
			soon = time.Now().Add(perSet*time.Duration(n/max(1, expireEvery))*2 + 200*time.Millisecond)
			for i := range n {
				if expiring(i) {
					if err := store.Set(ctx, key(i), data, soon); err != nil {
						return err
					}
				}
			}
		}
		if wait := time.Until(soon); wait > 0 {
			time.Sleep(wait + 10*time.Millisecond)
		}
		base = base.merge(timeGets(store, sample, readers, func() { time.Sleep(baseline) }))
		var reap time.Duration
		during := timeGets(store, sample, readers, func() {
			t0 := time.Now()
			store.Reap()
			reap = time.Since(t0)
		})
		worst = worst.merge(during)
		reapMax = max(reapMax, reap)
		roundMax = append(roundMax, fmt.Sprintf("%.1f", us(during.max)))
		left, err := store.Len(ctx)
		if err != nil {
			return err
		}
		expired, remaining = n-left, left
	}
	fmt.Fprintf(w, "memscale reap sessions=%d rounds=%d expired=%d remaining=%d reap_ms=%.1f readers=%d gets=%d "+
		"max_get_us=%.1f p999_get_us=%.1f gets_over_1ms=%d round_max_get_us=%s "+
		"baseline_gets=%d baseline_max_get_us=%.1f baseline_p999_get_us=%.1f baseline_gets_over_1ms=%d\n",
		n, rounds, expired, remaining, float64(reapMax.Microseconds())/1000, readers, worst.count,
		us(worst.max), us(worst.p999), worst.slow, strings.Join(roundMax, ","),
		base.count, us(base.max), us(base.p999), base.slow)
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

type latencies struct {
	count int
	max   time.Duration
	p999  time.Duration // the worst 99.9th percentile among merged runs
	slow  int           // Gets over 1 ms
}

func (l latencies) merge(o latencies) latencies {
	return latencies{count: l.count + o.count, max: max(l.max, o.max), p999: max(l.p999, o.p999), slow: l.slow + o.slow}
}

// timeGets times Get calls on keys picked at random from sample, from
// readers goroutines, for as long as work runs.
func timeGets(store *session.MemoryStore, sample []string, readers int, work func()) latencies {
	var (
		stop atomic.Bool
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  []time.Duration
	)
	ctx := context.Background()
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			lat := make([]time.Duration, 0, 1<<20)
			for !stop.Load() {
				k := sample[rng.IntN(len(sample))]
				t0 := time.Now()
				store.Get(ctx, k)
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	time.Sleep(10 * time.Millisecond) // let the readers start
	work()
	stop.Store(true)
	wg.Wait()
	slices.Sort(all)
	if len(all) == 0 {
		return latencies{}
	}
	slow := len(all) - sort.Search(len(all), func(i int) bool { return all[i] > time.Millisecond })
	return latencies{count: len(all), max: all[len(all)-1], p999: all[len(all)*999/1000], slow: slow}
}
