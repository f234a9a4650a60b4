package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	_ session.VersionedStore = (*Store)(nil)
	_ session.Lister         = (*Store)(nil)
)

func TestConformanceSingle(t *testing.T) {
	c := singleClient(t)
	sessiontest.TestStore(t, func(t *testing.T) session.Store { return newTestStore(t, c) })
}

func TestConformanceCluster(t *testing.T) {
	c := clusterClient(t)
	sessiontest.TestStore(t, func(t *testing.T) session.Store { return newTestStore(t, c) })
}

// TestLayout checks what lands in Redis: one string per session under the
// prefix, the version header, a native TTL, and deletion for an empty
// record or a past expiry.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	s := newTestStore(t, c)
	key := s.Prefix() + "k"

	require.NoError(t, setVersion(s, ctx, "k", []byte("data"), time.Now().Add(90*time.Second), 0))
	raw, err := c.Get(ctx, key).Result()
	require.NoError(t, err)
	_, v, err := s.GetVersion(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%016x:data", v), raw, "stored value")
	require.Equal(t, "string", c.Type(ctx, key).Val(), "key type")
	ttl := c.PTTL(ctx, key).Val()
	require.True(t, ttl > 80*time.Second && ttl <= 90*time.Second, "PTTL = %v, want about 90s", ttl)

	require.NoError(t, s.Set(ctx, "k", []byte("plain"), time.Now().Add(time.Hour)))
	ttl = c.PTTL(ctx, key).Val()
	require.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "after Set PTTL = %v, want about 1h", ttl)
	_, v2, err := s.GetVersion(ctx, "k")
	require.NoError(t, err)
	require.NotEqual(t, v, v2, "Set kept the old version")
	require.ErrorIs(t, setVersion(s, ctx, "k", []byte("x"), time.Now().Add(time.Hour), v), session.ErrConflict,
		"SetVersion with the version Set replaced")

	// A past expiry deletes a record that exists.
	require.NoError(t, s.Set(ctx, "k", []byte("plain"), time.Now().Add(-time.Millisecond)))
	require.Zero(t, c.Exists(ctx, key).Val(), "Set with a past expiry left the key in Redis")
	require.NoError(t, setVersion(s, ctx, "k", []byte("a"), time.Now().Add(time.Hour), 0))
	_, v, _ = s.GetVersion(ctx, "k")
	require.NoError(t, setVersion(s, ctx, "k", []byte("a"), time.Time{}, v))
	require.Zero(t, c.Exists(ctx, key).Val(), "SetVersion with a past expiry left the key in Redis")
	// Empty data deletes, through both writes.
	require.NoError(t, setVersion(s, ctx, "k", []byte("a"), time.Now().Add(time.Hour), 0))
	_, v, _ = s.GetVersion(ctx, "k")
	require.ErrorIs(t, setVersion(s, ctx, "k", nil, time.Now().Add(time.Hour), v+1), session.ErrConflict,
		"SetVersion(empty) with a wrong version")
	require.EqualValues(t, 1, c.Exists(ctx, key).Val(), "a conflicting SetVersion(empty) deleted the record")
	require.NoError(t, setVersion(s, ctx, "k", nil, time.Now().Add(time.Hour), v))
	require.Zero(t, c.Exists(ctx, key).Val(), "SetVersion(empty) left the key in Redis")
	require.NoError(t, s.Set(ctx, "k", []byte("a"), time.Now().Add(time.Hour)))
	require.NoError(t, s.Set(ctx, "k", []byte{}, time.Now().Add(time.Hour)))
	require.Zero(t, c.Exists(ctx, key).Val(), "Set(empty) left the key in Redis")
}

// TestVersionsNeverRepeat deletes and recreates one key many times: every
// version is new, and no earlier version is ever accepted again.
func TestVersionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, singleClient(t))
	exp := time.Now().Add(time.Minute)
	seen := make(map[uint64]bool)
	var old []uint64
	for i := range 200 {
		require.NoError(t, setVersion(s, ctx, "k", []byte("a"), exp, 0))
		_, v, err := s.GetVersion(ctx, "k")
		require.NoError(t, err)
		require.NoError(t, setVersion(s, ctx, "k", []byte("b"), exp, v))
		_, v2, err := s.GetVersion(ctx, "k")
		require.NoError(t, err)
		require.False(t, seen[v] || seen[v2] || v == v2, "round %d: a version repeated (%d, %d)", i, v, v2)
		seen[v], seen[v2] = true, true
		for _, o := range old[max(0, len(old)-5):] {
			require.ErrorIs(t, setVersion(s, ctx, "k", []byte("stale"), exp, o), session.ErrConflict,
				"round %d: an earlier version was accepted", i)
		}
		old = append(old, v, v2)
		if i%2 == 0 {
			require.NoError(t, s.Delete(ctx, "k"))
		} else {
			require.NoError(t, s.Set(ctx, "k", nil, exp))
		}
	}
}

// TestForeignData plants values this package did not write under the
// store's prefix: every operation reports an error, nothing panics, and the
// compare-and-swap never overwrites them.
func TestForeignData(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	exp := time.Now().Add(time.Minute)
	plant := map[string]func(key string) error{
		"hash":        func(k string) error { return c.HSet(ctx, k, "v", "1", "d", "x").Err() },
		"list":        func(k string) error { return c.RPush(ctx, k, "a").Err() },
		"plainString": func(k string) error { return c.Set(ctx, k, "hello, not a record", 0).Err() },
		"shortString": func(k string) error { return c.Set(ctx, k, "abc:", 0).Err() },
		"emptyString": func(k string) error { return c.Set(ctx, k, "", 0).Err() },
		"zeroVersion": func(k string) error { return c.Set(ctx, k, "0000000000000000:data", 0).Err() },
		"upperHex":    func(k string) error { return c.Set(ctx, k, "00000000000000AB:data", 0).Err() },
	}
	for name, put := range plant {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t, c)
			require.NoError(t, put(s.Prefix()+name))
			isForeign := func(op string, err error) {
				t.Helper()
				require.ErrorIs(t, err, ErrForeignData, "%s on foreign data", op)
				require.ErrorIs(t, err, session.ErrCorrupt, "%s on foreign data", op)
				require.NotErrorIs(t, err, session.ErrNotFound, "%s on foreign data claims not-found", op)
				require.NotErrorIs(t, err, session.ErrConflict, "%s on foreign data claims a conflict", op)
			}
			_, err := s.Get(ctx, name)
			isForeign("Get", err)
			_, _, err = s.GetVersion(ctx, name)
			isForeign("GetVersion", err)
			isForeign("SetVersion(0)", setVersion(s, ctx, name, []byte("x"), exp, 0))
			isForeign("SetVersion(1)", setVersion(s, ctx, name, []byte("x"), exp, 0xab))
			_, err = allRecords(s, ctx)
			isForeign("All", err)
			n, err := s.Len(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n, "Len: the foreign key is under the prefix")
			require.NotEqual(t, "none", c.Type(ctx, s.Prefix()+name).Val(), "a failed SetVersion removed the foreign key")

			// Through a Manager: the load fails with ErrStore, nothing is written.
			m, err := session.NewManager(session.WithStore(s), session.WithFingerprint(func(string, session.Exchange) string { return name }))
			require.NoError(t, err)
			id := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			x := client(&id)
			_, err = testenv.Begin(m, x).Session()
			require.ErrorIs(t, err, session.ErrStore, "Manager load over foreign data")
			require.ErrorIs(t, err, ErrForeignData, "Manager load over foreign data")

			require.NoError(t, s.Clear(ctx))
			require.Zero(t, c.Exists(ctx, s.Prefix()+name).Val(), "Clear left a foreign key under the prefix")
		})
	}
}

// TestRoundTrips counts the commands a request sends, through a real
// Manager: load = 1, commit of a change = 1, an untouched request = 0.
func TestRoundTrips(t *testing.T) {
	t.Run("single", func(t *testing.T) { testRoundTrips(t, singleClient(t)) })
	t.Run("cluster", func(t *testing.T) { testRoundTrips(t, clusterClient(t)) })
}

func testRoundTrips(t *testing.T, c redis.UniversalClient) {
	s := newTestStore(t, c)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	loadScript(t, c)
	require.NoError(t, c.Ping(context.Background()).Err()) // a pooled connection, so HELLO is not counted below
	var n rediscount.Counter
	c.AddHook(&n)

	var cookie string
	request := func(name string, want int64, handler func(sess *session.Session)) {
		t.Helper()
		n.Reset()
		x := client(&cookie)
		h := testenv.Begin(m, x)
		if handler != nil {
			sess, err := h.Session()
			require.NoError(t, err, "%s: Session", name)
			handler(sess)
		}
		require.NoError(t, h.Commit(), "%s: Commit", name)
		require.NoError(t, h.Commit(), "%s: second Commit", name) // the adapter's second call
		if ck := x.LastCookie(); ck != nil {
			cookie = ck.Value
		}
		require.Equal(t, want, n.Commands(), "%s: commands", name)
		require.Equal(t, want, n.RoundTrips(), "%s: round trips", name)
	}

	request("untouched request, no cookie", 0, nil)
	request("new session, written", 1, func(s *session.Session) { s.Set("user", "ann") })
	require.NotEmpty(t, cookie, "no cookie for the new session")
	request("untouched request with a cookie", 0, nil)
	request("load, read, commit", 1, func(s *session.Session) {
		require.False(t, s.IsNew(), "session not loaded")
		require.Equal(t, "ann", s.Get("user"), "session not loaded")
	})
	request("load, write, commit", 2, func(s *session.Session) { s.Set("n", 1) })
	request("load, read back", 1, func(s *session.Session) {
		require.Equal(t, 1, s.Get("n"), "write not stored")
	})
}

// TestClusterSpread writes sessions to every slot range of the Cluster and
// checks that Len, All and Clear see all masters and only the store's keys.
func TestClusterSpread(t *testing.T) {
	ctx := context.Background()
	c := clusterClient(t)
	s := newTestStore(t, c)
	other := newTestStore(t, c)
	exp := time.Now().Add(time.Minute)
	const n = 600
	for i := range n {
		require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), fmt.Appendf(nil, "v%d", i), exp))
	}
	require.NoError(t, other.Set(ctx, "k0", []byte("other"), exp))

	// The keys really lie on every master.
	var mu sync.Mutex
	perMaster := map[string]int{}
	require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		count := 0
		iter := node.Scan(ctx, 0, globEscape(s.Prefix())+"*", 1000).Iterator()
		for iter.Next(ctx) {
			count++
		}
		mu.Lock()
		perMaster[node.Options().Addr] = count
		mu.Unlock()
		return iter.Err()
	}))
	total := 0
	for addr, k := range perMaster {
		require.NotZero(t, k, "master %s holds none of the %d keys: %v", addr, n, perMaster)
		total += k
	}
	require.Equal(t, n, total, "keys the masters hold in all: %v", perMaster)
	t.Logf("keys per master: %v", perMaster)

	all := listed(t, s, n)
	for i := range n {
		require.Equal(t, fmt.Sprint("v", i), string(all[fmt.Sprint("k", i)]), "All[k%d]", i)
	}
	cleared(t, s)
	data, err := other.Get(ctx, "k0")
	require.NoError(t, err, "Clear removed another prefix's key")
	require.Equal(t, "other", string(data), "Clear removed another prefix's key")
}

// TestLargeBatches makes Clear, All and Len go through several SCAN pages
// on a single node.
func TestLargeBatches(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	s := newTestStore(t, c)
	const n = 2500
	exp := time.Now().Add(time.Minute)
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			var h [hdrLen]byte
			putHeader(h[:], uint64(i+1))
			p.Set(ctx, s.Prefix()+fmt.Sprint(i), append(h[:], fmt.Sprint(i)...), time.Until(exp))
		}
		return nil
	})
	require.NoError(t, err)
	all := listed(t, s, n)
	require.Equal(t, "1234", string(all["1234"]), "All[1234]")
	cleared(t, s)
}

// TestPrefixIsolation checks that stores with different prefixes on one
// database do not see each other, and that glob characters in a prefix are
// taken literally.
func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	base := testPrefix(t)
	a := newTestStore(t, c, WithPrefix(base+"a*:"))
	b := newTestStore(t, c, WithPrefix(base+"ab:"))
	exp := time.Now().Add(time.Minute)
	require.NoError(t, a.Set(ctx, "x", []byte("a"), exp))
	require.NoError(t, b.Set(ctx, "x", []byte("b"), exp))
	n, err := a.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "a.Len")
	require.NoError(t, a.Clear(ctx))
	got, err := b.Get(ctx, "x")
	require.NoError(t, err, "clearing prefix %q removed a key of %q", a.Prefix(), b.Prefix())
	require.Equal(t, "b", string(got), "clearing prefix %q changed a key of %q", a.Prefix(), b.Prefix())
}

// TestNonUTF8PrefixIsListed gives the store a prefix that is not valid
// UTF-8 and holds glob metacharacters: Len, Range and Clear must see its
// keys, and only its keys. (The SCAN pattern used to be escaped rune by
// rune, which turned the invalid bytes into U+FFFD, so nothing matched.)
func TestNonUTF8PrefixIsListed(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	base := testPrefix(t)
	s := newTestStore(t, c, WithPrefix(base+"app\xff\xfe*?[x]\\:"))
	// Same bytes but for the invalid ones: a rune-wise escape would make
	// both prefixes' patterns equal.
	other := newTestStore(t, c, WithPrefix(base+"app\uFFFD\uFFFD*?[x]\\:"))
	exp := time.Now().Add(time.Minute)
	for i := range 3 {
		require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), []byte("v"), exp))
	}
	require.NoError(t, other.Set(ctx, "k0", []byte("other"), exp))

	all := listed(t, s, 3)
	require.Equal(t, map[string][]byte{"k0": []byte("v"), "k1": []byte("v"), "k2": []byte("v")}, all)

	require.NoError(t, s.Clear(ctx))
	require.Zero(t, c.Exists(ctx, s.Prefix()+"k0", s.Prefix()+"k1", s.Prefix()+"k2").Val(), "Clear left keys behind")
	got, err := other.Get(ctx, "k0")
	require.NoError(t, err, "Clear removed another prefix's key")
	require.Equal(t, "other", string(got))
}

func TestNewFromURL(t *testing.T) {
	ctx := context.Background()
	s, err := NewFromURL("redis://"+redisAddr()+"/0", WithPrefix(testPrefix(t)))
	require.NoError(t, err)
	require.IsType(t, (*redis.Client)(nil), s.Client())
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)))
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(got))
	require.NoError(t, s.Clear(ctx))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close()) // twice is fine
	require.Error(t, s.Client().Ping(ctx).Err(), "Close did not close the client NewFromURL made")

	cs, err := NewFromURL("redis://127.0.0.1:7101?addr=127.0.0.1:7102&addr=127.0.0.1:7103")
	require.NoError(t, err)
	require.IsType(t, (*redis.ClusterClient)(nil), cs.Client(), "the client a cluster URL made")
	require.NoError(t, cs.Close())

	for _, bad := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber", "::"} {
		_, err := NewFromURL(bad)
		assert.Error(t, err, "NewFromURL(%q)", bad)
	}
	_, err = NewFromURL("redis://"+redisAddr(), WithPrefix(""))
	assert.ErrorContains(t, err, "prefix", "NewFromURL with an empty prefix")
}

func TestNewLeavesClientOpen(t *testing.T) {
	c := singleClient(t)
	s := mustNew(t, c)
	require.Equal(t, DefaultPrefix, s.Prefix(), "default prefix")
	require.NoError(t, s.Close())
	require.NoError(t, c.Ping(context.Background()).Err(), "Close closed a client passed to New")
	_, err := New(c, WithPrefix(""))
	require.Error(t, err, "New with an empty prefix")
	_, err = New(nil)
	require.Error(t, err, "New with a nil client")
}

func TestHeader(t *testing.T) {
	for _, v := range []uint64{1, 0xab, 1<<63 - 1, 1 << 62} {
		var h [hdrLen]byte
		putHeader(h[:], v)
		got, ok := parseHeader(append(h[:], "data"...))
		require.True(t, ok, "header of %d = %q does not parse", v, h)
		require.Equal(t, v, got, "header %q", h)
	}
	for _, bad := range []string{"", "0123456789abcdef", "0123456789abcdefX", "0123456789abcdeg:", "0000000000000000:"} {
		_, ok := parseHeader([]byte(bad))
		require.False(t, ok, "parseHeader(%q) accepted it", bad)
	}
	for range 1000 {
		v := newVersion()
		require.True(t, v != 0 && v>>63 == 0, "newVersion() = %d, outside [1, 2^63)", v)
	}
	require.Equal(t, `a\*b\?c\[d\]e\\f`, globEscape(`a*b?c[d]e\f`), "globEscape")
	require.Equal(t, "app\xff\xfe\\*:", globEscape("app\xff\xfe*:"), "globEscape must keep bytes that are not UTF-8")
}

// cmdNames records the names of the commands a client sends, pipelined
// or not.
type cmdNames struct {
	mu    sync.Mutex
	names map[string]int
}

func (h *cmdNames) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *cmdNames) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmd)
		return next(ctx, cmd)
	}
}

func (h *cmdNames) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.add(c)
		}
		return next(ctx, cmds)
	}
}

func (h *cmdNames) add(c redis.Cmder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.names == nil {
		h.names = map[string]int{}
	}
	h.names[c.Name()]++
}

// TestRangeReadsMastersOnReplicaReadingClient lists through a Cluster
// client that sends reads to replicas: Range must read with GETEX, which
// goes to the masters (a lagging replica would miss a new key), and must
// leave the keys' TTLs alone.
func TestRangeReadsMastersOnReplicaReadingClient(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(t), ReadOnly: true, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	s := newTestStore(t, c)
	exp := time.Now().Add(time.Minute)
	for i := range 50 {
		require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), []byte("v"), exp))
	}
	var names cmdNames
	c.AddHook(&names)
	all, err := allRecords(s, ctx)
	require.NoError(t, err)
	require.Len(t, all, 50)
	require.Equal(t, 50, names.names["getex"], "Range on a ReadOnly client: commands sent %v", names.names)
	require.Zero(t, names.names["get"], "Range on a ReadOnly client sent GETs, which a replica may answer")
	ttl := c.PTTL(ctx, s.Prefix()+"k7").Val()
	require.Greater(t, ttl, 50*time.Second, "Range changed a key's TTL")
}
