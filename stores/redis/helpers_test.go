package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisAddr is the single Redis the tests use: REDIS_ADDR, or
// 127.0.0.1:6379.
func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

const clusterHint = `start one with: eval "$(scripts/redis-cluster.sh start)" (from the repository root)`

// clusterAddrs returns REDIS_CLUSTER_ADDRS, failing the test when it is
// unset: a missing Cluster must not pass for a skipped test.
func clusterAddrs(tb testing.TB) []string {
	tb.Helper()
	v := os.Getenv("REDIS_CLUSTER_ADDRS")
	require.NotEmpty(tb, v, "REDIS_CLUSTER_ADDRS is not set; the Redis Cluster tests need a running Cluster; %s", clusterHint)
	return strings.Split(v, ",")
}

// singleClient returns a client of the single Redis, failing the test if
// it does not answer.
func singleClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(tb, c.Ping(ctx).Err(), "Redis at %s (REDIS_ADDR) does not answer", redisAddr())
	return c
}

// clusterClient returns a client of the test Cluster, failing the test if
// it is not set up or not healthy.
func clusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	addrs := clusterAddrs(tb)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.ClusterInfo(ctx).Result()
	require.NoError(tb, err, "Redis Cluster at %v (REDIS_CLUSTER_ADDRS) does not answer; %s", addrs, clusterHint)
	require.Contains(tb, info, "cluster_state:ok", "Redis Cluster at %v is not healthy", addrs)
	var masters atomic.Int32
	err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		masters.Add(1)
		return n.Ping(ctx).Err()
	})
	require.NoError(tb, err, "a master of the Redis Cluster does not answer")
	require.GreaterOrEqual(tb, masters.Load(), int32(3), "masters of the Redis Cluster at %v; the tests need 3", addrs)
	return c
}

// testPrefix returns a key prefix no other test, run or helper uses.
func testPrefix(tb testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '*' || r == '?' || r == '[' || r == ']' || r == '{' || r == '}' {
			return '_'
		}
		return r
	}, tb.Name())
	return "sktest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// newTestStore returns a Store with a fresh prefix on c (unless opts give
// one: the later option wins) that is cleared when the test ends.
func newTestStore(tb testing.TB, c redis.UniversalClient, opts ...Option) *Store {
	tb.Helper()
	s := mustNew(tb, c, append([]Option{WithPrefix(testPrefix(tb))}, opts...)...)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(tb, s.Clear(ctx), "cleanup: Clear")
	})
	return s
}

// loadScript caches the update script on every node behind c, so that
// command counts do not include go-redis's one-time EVAL fallback.
func loadScript(tb testing.TB, c redis.UniversalClient) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return setScript.Load(ctx, n).Err()
		})
	} else {
		err = setScript.Load(ctx, c).Err()
	}
	require.NoError(tb, err, "SCRIPT LOAD")
}

// client is a request from one browser, as the Manager sees it.
func client(cookie *string) *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: "192.0.2.7", Headers: map[string]string{"User-Agent": "redisstore-test"}}
	if cookie != nil && *cookie != "" {
		x.CookieMap = map[string][]string{session.DefaultCookieName: {*cookie}}
	}
	return x
}

// within runs f and fails the test if it has not returned after d: a hang
// guard, not a timing assertion.
func within(tb testing.TB, d time.Duration, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		require.FailNowf(tb, "hung", "%s hung for more than %v", what, d)
	}
}

// setVersion is SetVersion for tests that only look at the error.
func setVersion(s *Store, ctx context.Context, key string, data []byte, exp time.Time, v uint64) error {
	_, err := s.SetVersion(ctx, key, data, exp, v)
	return err
}

// allRecords collects what Range visits.
func allRecords(s *Store, ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.Range(ctx, func(k string, d []byte, _ uint64) error {
		out[k] = append([]byte(nil), d...)
		return nil
	})
	return out, err
}

// listed checks that Len and Range both see n sessions in s, and returns
// what Range visited.
func listed(tb testing.TB, s *Store, n int) map[string][]byte {
	tb.Helper()
	ctx := context.Background()
	got, err := s.Len(ctx)
	require.NoError(tb, err, "Len")
	require.Equal(tb, n, got, "Len")
	all, err := allRecords(s, ctx)
	require.NoError(tb, err, "Range")
	require.Len(tb, all, n, "records Range visited")
	return all
}

// cleared clears s and checks that Len then sees nothing.
func cleared(tb testing.TB, s *Store) {
	tb.Helper()
	ctx := context.Background()
	require.NoError(tb, s.Clear(ctx), "Clear")
	n, err := s.Len(ctx)
	require.NoError(tb, err, "Len after Clear")
	require.Zero(tb, n, "Len after Clear")
}

// mustNew is New for tests: an error fails the test.
func mustNew(tb testing.TB, c redis.UniversalClient, opts ...Option) *Store {
	tb.Helper()
	s, err := New(c, opts...)
	require.NoError(tb, err, "redisstore.New")
	return s
}
