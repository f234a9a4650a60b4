package redisstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/require"
)

// waitFor polls cond every 100 ms until it returns "" (done) or d has
// passed, then fails the test with cond's last answer.
func waitFor(tb testing.TB, d time.Duration, what string, cond func(ctx context.Context) string) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		why := cond(ctx)
		cancel()
		if why == "" {
			return
		}
		require.False(tb, time.Now().After(deadline), "%s: not within %v: %s", what, d, why)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSentinel runs a master, a replica and a Sentinel as child processes,
// runs the conformance kit through a Sentinel-backed client
// (redis.NewFailoverClient), then fails the master over to the replica and
// checks that the same client and store keep the session and go on
// writing.
func TestSentinel(t *testing.T) {
	logTo(t)
	master := testenv.StartRedisServer(t)
	replica := testenv.StartRedisServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port()))
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	t.Cleanup(func() { rc.Close() })
	waitFor(t, 15*time.Second, "replica in sync", func(ctx context.Context) string {
		info, err := rc.Info(ctx, "replication").Result()
		if err != nil {
			return err.Error()
		}
		if !strings.Contains(info, "master_link_status:up") {
			return "link down"
		}
		return ""
	})

	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	err := os.WriteFile(conf, fmt.Appendf(nil, "sentinel monitor mymaster 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds mymaster 2000\n"+
		"sentinel failover-timeout mymaster 10000\n", master.Port()), 0o600)
	require.NoError(t, err)
	// A Sentinel rewrites its configuration file, which goes first.
	sentinel := testenv.StartRedisServer(t, conf, "--sentinel")
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr()})
	t.Cleanup(func() { sc.Close() })
	waitFor(t, 15*time.Second, "Sentinel sees the replica", func(ctx context.Context) string {
		rs, err := sc.Replicas(ctx, "mymaster").Result()
		if err != nil {
			return err.Error()
		}
		if len(rs) != 1 {
			return fmt.Sprintf("%d replicas", len(rs))
		}
		return ""
	})

	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{sentinel.Addr()},
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })

	t.Run("conformance", func(t *testing.T) {
		sessiontest.TestStore(t, func(t *testing.T) session.Store { return newTestStore(t, c) })
	})

	t.Run("failover", func(t *testing.T) {
		s := newTestStore(t, c)
		m, err := session.NewManager(session.WithStore(s))
		require.NoError(t, err)
		var cookie string
		x := client(&cookie)
		h := testenv.Begin(m, x)
		sess, err := h.Session()
		require.NoError(t, err)
		sess.Set("user", "ann")
		require.NoError(t, h.Commit())
		cookie = x.LastCookie().Value

		mc := redis.NewClient(&redis.Options{Addr: master.Addr()})
		defer mc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		replicas, err := mc.Wait(ctx, 1, 3*time.Second).Result()
		require.NoError(t, err, "WAIT for the replica")
		require.EqualValues(t, 1, replicas, "replicas WAIT saw")

		require.NoError(t, sc.Failover(ctx, "mymaster").Err())
		waitFor(t, 20*time.Second, "Sentinel promotes the replica", func(ctx context.Context) string {
			addr, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
			if err != nil {
				return err.Error()
			}
			if len(addr) != 2 || addr[1] != strconv.Itoa(replica.Port()) {
				return fmt.Sprintf("master is %v", addr)
			}
			return ""
		})

		// The same client and store follow the new master: the session
		// is there and changes to it are saved.
		n := 0
		waitFor(t, 20*time.Second, "a write through the Sentinel client after the failover", func(ctx context.Context) string {
			n++
			x := client(&cookie)
			x.Ctx = ctx
			h := testenv.Begin(m, x)
			sess, err := h.Session()
			if err != nil {
				return err.Error()
			}
			if sess.IsNew() || sess.Get("user") != "ann" {
				return fmt.Sprintf("session lost: new=%v user=%v", sess.IsNew(), sess.Get("user"))
			}
			sess.Set("after", n)
			if err := h.Commit(); err != nil {
				return err.Error()
			}
			return ""
		})
		keys := 0
		iter := rc.Scan(context.Background(), 0, globEscape(s.Prefix())+"*", 100).Iterator()
		for iter.Next(context.Background()) {
			keys++
		}
		require.NoError(t, iter.Err())
		require.Equal(t, 1, keys, "session keys the promoted replica holds")
		role, _ := rc.Do(context.Background(), "ROLE").Slice()
		require.NotEmpty(t, role, "the replica's ROLE after the failover")
		require.Equal(t, "master", role[0], "the replica's role after the failover")
	})
}
