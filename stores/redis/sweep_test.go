package redisstore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestLayoutCheck feeds the topology check CLUSTER NODES lines: it vouches
// only for masters that own every slot exactly once with no slot being
// migrated.
func TestLayoutCheck(t *testing.T) {
	const (
		a = "aaaa 127.0.0.1:7001@17001 myself,master - 0 1700000000000 5 connected 0-5460\n"
		b = "bbbb 127.0.0.1:7002@17002 myself,master - 0 1700000000000 2 connected 5461-10922\n"
		c = "cccc 127.0.0.1:7003@17003 myself,master - 0 1700000000000 3 connected 10923-16383\n"
	)
	peer := "dddd 127.0.0.1:7004@17004 master - 0 1700000000000 4 connected\n"
	self := func(t *testing.T, out string) string {
		t.Helper()
		l, err := ownLine(out)
		require.NoError(t, err)
		return l
	}
	layoutOf := func(t *testing.T, nodes ...string) layout {
		l := layout{nodes: map[string]string{}}
		for i, n := range nodes {
			l.nodes[string(rune('a'+i))] = self(t, peer+n)
		}
		return l
	}
	require.Equal(t, "aaaa myself,master 5 0-5460", self(t, peer+a))
	require.Empty(t, layoutOf(t, a, b, c).check())

	for name, nodes := range map[string][]string{
		"migrating": {a, b, "cccc 127.0.0.1:7003@17003 myself,master - 0 0 3 connected 10923-16383 [16000->-aaaa]\n"},
		"importing": {"aaaa 127.0.0.1:7001@17001 myself,master - 0 0 5 connected 0-5460 [16000-<-cccc]\n", b, c},
		"gap":       {a, b, "cccc 127.0.0.1:7003@17003 myself,master - 0 0 3 connected 10924-16383\n"},
		"overlap":   {a, b, "cccc 127.0.0.1:7003@17003 myself,master - 0 0 3 connected 10922-16383\n"},
		"replica":   {a, b, "cccc 127.0.0.1:7003@17003 myself,slave aaaa 0 0 3 connected\n"},
		"bad range": {a, b, "cccc 127.0.0.1:7003@17003 myself,master - 0 0 3 connected 10923-16384\n"},
		"unknown":   {a, b},
	} {
		require.NotEmpty(t, layoutOf(t, nodes...).check(), name)
	}
	_, err := ownLine(peer)
	require.Error(t, err, "a reply without the node's own line")
}

// TestRangeFailsWithRingShardDown lists a Ring one of whose shards is down:
// the sessions on it come back with it, so Range, Len and Clear must fail
// instead of reporting a complete sweep.
func TestRangeFailsWithRingShardDown(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := l.Addr().String()
	l.Close()
	c := redis.NewRing(&redis.RingOptions{
		Addrs:              map[string]string{"up": redisAddr(), "down": down},
		HeartbeatFrequency: 20 * time.Millisecond,
		DialTimeout:        100 * time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Len() != 1 {
		require.True(t, time.Now().Before(deadline), "the Ring did not mark the shard at %s down", down)
		time.Sleep(20 * time.Millisecond)
	}
	s := mustNew(t, c, WithPrefix(testPrefix(t)))
	_, err = allRecords(s, ctx)
	require.True(t, errors.Is(err, ErrTopologyChanged), "Range with a shard down: %v", err)
	_, err = s.Len(ctx)
	require.True(t, errors.Is(err, ErrTopologyChanged), "Len with a shard down: %v", err)
	require.True(t, errors.Is(s.Clear(ctx), ErrTopologyChanged), "Clear with a shard down")
}

// TestRangeWithApplicationSlotMap lists through a ClusterClient given its
// slot map by the application (ClusterSlots), here one standalone server
// that owns every slot: such servers do not answer CLUSTER NODES, so the
// sweep checks that the map stays put instead.
func TestRangeWithApplicationSlotMap(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			return []redis.ClusterSlot{{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{Addr: redisAddr()}}}}, nil
		},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	s := newTestStore(t, c)
	exp := time.Now().Add(time.Minute)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, s.Set(ctx, k, []byte(k), exp))
	}
	listed(t, s, 3)
	cleared(t, s)
}
