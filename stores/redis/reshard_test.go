package redisstore

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/require"
)

// testCluster is a 3-master Redis Cluster of the test's own, which it may
// reshard without disturbing the shared one (REDIS_CLUSTER_ADDRS). Its
// servers are child processes of the test, killed when it ends.
type testCluster struct {
	addrs []string
	ids   []string // node IDs, in the order of addrs
}

// startCluster starts three cluster-enabled redis-servers on free ports
// (with free cluster bus ports, --cluster-port) and joins them with
// redis-cli --cluster create. It fails the test if it cannot.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	_, err := exec.LookPath("redis-cli")
	require.NoError(t, err, "this test builds its own Redis Cluster with redis-cli, which is not installed (apt-get install redis-tools)")
	tc := new(testCluster)
	for range 3 {
		srv := testenv.StartRedisServer(t, "--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(freePort(t)), "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		tc.addrs = append(tc.addrs, srv.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, tc.addrs...), "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create %v:\n%s", tc.addrs, out)
	for _, addr := range tc.addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if ctx.Err() != nil {
				c.Close()
				require.FailNowf(t, "node not healthy", "the test's Redis Cluster node %s did not become healthy: %v\n%s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		id, err := c.ClusterMyID(ctx).Result()
		c.Close()
		require.NoError(t, err, "CLUSTER MYID on %s", addr)
		tc.ids = append(tc.ids, id)
	}
	return tc
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// resharder moves slots between two masters of a testCluster with
// redis-cli --cluster reshard, back and forth, in a background process.
type resharder struct {
	moves  atomic.Int32 // moves of every slot one way completed
	active atomic.Bool  // a redis-cli reshard is running
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	fails  []string // output of the reshards that failed
}

// reshard starts moving slots slots from the first master to the second
// and back, chunk slots per redis-cli run (so that Stop need not wait
// long), pausing for pause after each full move. It runs until Stop or
// the end of the test, which kills the redis-cli process then running.
func (tc *testCluster) reshard(t *testing.T, slots, chunk int, pause time.Duration) *resharder {
	r := &resharder{stop: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(r.done)
		from, to := tc.ids[0], tc.ids[1]
		for moved := 0; ; {
			r.active.Store(true)
			out, err := exec.CommandContext(ctx, "redis-cli", "--cluster", "reshard", tc.addrs[0],
				"--cluster-from", from, "--cluster-to", to, "--cluster-slots", strconv.Itoa(chunk),
				"--cluster-yes").CombinedOutput()
			r.active.Store(false)
			wait := time.Duration(0)
			switch {
			case err == nil:
				if moved += chunk; moved >= slots {
					r.moves.Add(1)
					from, to, moved, wait = to, from, 0, pause
				}
			case ctx.Err() == nil:
				// Usually the nodes do not agree yet on the last move: try again.
				r.mu.Lock()
				r.fails = append(r.fails, fmt.Sprintf("%v: ...%s", err, out[max(0, len(out)-300):]))
				r.mu.Unlock()
				wait = pause
			}
			select {
			case <-ctx.Done():
				return
			case <-r.stop:
				return
			case <-time.After(wait):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Logf("%d moves of %d slots completed; %d reshards failed", r.moves.Load(), slots, len(r.fails))
		for _, f := range r.fails[:min(3, len(r.fails))] {
			t.Logf("failed reshard: %s", f)
		}
	})
	return r
}

// Stop lets the reshard in progress finish and starts no other.
func (r *resharder) Stop() {
	close(r.stop)
	<-r.done
}

// busy reports whether a reshard is running, with the number completed.
func (r *resharder) busy() (bool, int32) { return r.active.Load(), r.moves.Load() }

// parallel runs f(0) … f(n-1) on 8 goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestRevocationDuringReshard logs one user out everywhere again and again
// while redis-cli moves 2000 slots back and forth between two masters of a
// Cluster of the test's own. DestroyMatching may fail, but when it returns
// nil none of the user's 3000 sessions may be left; Len must be exact or
// fail, and so must Clear. (Each master used to be scanned on its own, so a
// key that moved to a master already scanned was never seen, and the
// sweep still reported success.)
func TestRevocationDuringReshard(t *testing.T) {
	ctx := context.Background()
	tc := startCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tc.addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	s := mustNew(t, c, WithPrefix(testPrefix(t)))
	m, err := session.NewManager(session.WithStore(s), session.WithFingerprint(session.FingerprintIDOnly))
	require.NoError(t, err)
	const (
		annCount   = 3000
		otherCount = 3000 // sessions of other users, which must survive
	)
	isAnn := func(r session.Record) bool { return r.Values["user"] == "ann" }

	// create makes n sessions of user through the Manager and returns
	// their cookies.
	create := func(user string, n int) []string {
		t.Helper()
		cookies := make([]string, n)
		var failed atomic.Value
		parallel(n, func(i int) {
			var ck string
			x := client(&ck)
			h := testenv.Begin(m, x)
			sess, err := h.Session()
			if err == nil {
				err = sess.Set("user", user)
			}
			if err == nil {
				err = h.Commit()
			}
			if err != nil || x.LastCookie() == nil {
				failed.CompareAndSwap(nil, fmt.Sprintf("creating a session of %s: %v", user, err))
				return
			}
			cookies[i] = x.LastCookie().Value
		})
		require.Nil(t, failed.Load(), "a session could not be created")
		return cookies
	}
	// live returns the cookies whose record is still stored, checked with
	// pipelined EXISTS through the ClusterClient, which follows MOVED and
	// ASK. (A destroyed session's key is deleted; a session of another
	// user never takes over a key of these.)
	live := func(cookies []string) []string {
		t.Helper()
		cmds := make([]*redis.IntCmd, len(cookies))
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, ck := range cookies {
				cmds[i] = p.Exists(ctx, s.Prefix()+session.FingerprintIDOnly(ck, nil))
			}
			return nil
		})
		require.NoError(t, err, "checking which sessions are left")
		var out []string
		for i, ck := range cookies {
			if cmds[i].Val() == 1 {
				out = append(out, ck)
			}
		}
		return out
	}

	ann := create("ann", annCount)
	others := create("bob", otherCount)
	r := tc.reshard(t, 2000, 250, time.Second)

	// Sweeps while the slots move: any may fail, none may lie.
	var runs, complete, overlapped, lenExact int
	start := time.Now()
	for time.Since(start) < 15*time.Second || r.moves.Load() == 0 {
		require.Less(t, time.Since(start), time.Minute, "2000 slots did not move within a minute: the test did not test anything")
		runs++
		busy0, moves0 := r.busy()
		if n, err := s.Len(ctx); err == nil {
			require.Equal(t, annCount+otherCount, n, "run %d: Len returned nil with a wrong count during the reshard", runs)
			lenExact++
		}
		destroyed, err := m.DestroyMatching(ctx, isAnn)
		if busy1, moves1 := r.busy(); busy0 || busy1 || moves0 != moves1 {
			overlapped++
		}
		left := live(ann)
		if err == nil {
			require.Empty(t, left, "run %d: DestroyMatching returned nil (destroyed %d) with %d of ann's %d sessions still live",
				runs, destroyed, len(left), annCount)
			complete++
		} else {
			t.Logf("run %d: DestroyMatching: %v (destroyed %d)", runs, err, destroyed)
		}
		ann = append(left, create("ann", annCount-len(left))...)
	}
	t.Logf("%d runs while slots moved: DestroyMatching complete %d, Len exact %d, the others failed; %d runs overlapped a reshard",
		runs, complete, lenExact, overlapped)
	require.Positive(t, overlapped, "no sweep ran while slots moved: the test did not test anything")
	require.Len(t, live(others), otherCount, "the sweeps destroyed sessions of another user")

	for try := 1; try <= 3; try++ {
		if err := s.Clear(ctx); err != nil {
			t.Logf("Clear %d while slots moved: %v", try, err)
			continue
		}
		require.Empty(t, live(ann), "Clear returned nil with sessions left")
		require.Empty(t, live(others), "Clear returned nil with sessions left")
		break
	}

	// Once the slots stay put, every sweep completes.
	r.Stop()
	left := live(ann)
	ann = append(left, create("ann", annCount-len(left))...)
	others = live(others)
	n, err := s.Len(ctx)
	require.NoError(t, err, "Len after the reshard")
	require.Equal(t, annCount+len(others), n, "Len after the reshard")
	_, err = m.DestroyMatching(ctx, isAnn)
	require.NoError(t, err, "DestroyMatching after the reshard")
	require.Empty(t, live(ann), "DestroyMatching after the reshard left sessions")
	require.Len(t, live(others), len(others), "DestroyMatching destroyed sessions of another user")
	require.NoError(t, s.Clear(ctx), "Clear after the reshard")
	require.Empty(t, live(others), "Clear after the reshard left sessions")
}
