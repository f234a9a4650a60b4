package redisstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
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

	must(t, setVersion(s, ctx, "k", []byte("data"), time.Now().Add(90*time.Second), 0))
	raw, err := c.Get(ctx, key).Result()
	must(t, err)
	_, v, err := s.GetVersion(ctx, "k")
	must(t, err)
	if want := fmt.Sprintf("%016x:data", v); raw != want {
		t.Fatalf("stored value = %q, want %q", raw, want)
	}
	if typ := c.Type(ctx, key).Val(); typ != "string" {
		t.Fatalf("key type = %s, want string", typ)
	}
	ttl := c.PTTL(ctx, key).Val()
	if ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("PTTL = %v, want about 90s", ttl)
	}

	must(t, s.Set(ctx, "k", []byte("plain"), time.Now().Add(time.Hour)))
	if ttl := c.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("after Set PTTL = %v, want about 1h", ttl)
	}
	_, v2, err := s.GetVersion(ctx, "k")
	must(t, err)
	if v2 == v {
		t.Fatal("Set kept the old version")
	}
	if err := setVersion(s, ctx, "k", []byte("x"), time.Now().Add(time.Hour), v); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("SetVersion with the version Set replaced = %v, want ErrConflict", err)
	}

	// A past expiry deletes a record that exists.
	must(t, s.Set(ctx, "k", []byte("plain"), time.Now().Add(-time.Millisecond)))
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("Set with a past expiry left the key in Redis")
	}
	must(t, setVersion(s, ctx, "k", []byte("a"), time.Now().Add(time.Hour), 0))
	_, v, _ = s.GetVersion(ctx, "k")
	must(t, setVersion(s, ctx, "k", []byte("a"), time.Time{}, v))
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("SetVersion with a past expiry left the key in Redis")
	}
	// Empty data deletes, through both writes.
	must(t, setVersion(s, ctx, "k", []byte("a"), time.Now().Add(time.Hour), 0))
	_, v, _ = s.GetVersion(ctx, "k")
	if err := setVersion(s, ctx, "k", nil, time.Now().Add(time.Hour), v+1); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("SetVersion(empty) with a wrong version = %v, want ErrConflict", err)
	}
	if n := c.Exists(ctx, key).Val(); n != 1 {
		t.Fatal("a conflicting SetVersion(empty) deleted the record")
	}
	must(t, setVersion(s, ctx, "k", nil, time.Now().Add(time.Hour), v))
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("SetVersion(empty) left the key in Redis")
	}
	must(t, s.Set(ctx, "k", []byte("a"), time.Now().Add(time.Hour)))
	must(t, s.Set(ctx, "k", []byte{}, time.Now().Add(time.Hour)))
	if n := c.Exists(ctx, key).Val(); n != 0 {
		t.Fatal("Set(empty) left the key in Redis")
	}
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
		must(t, setVersion(s, ctx, "k", []byte("a"), exp, 0))
		_, v, err := s.GetVersion(ctx, "k")
		must(t, err)
		must(t, setVersion(s, ctx, "k", []byte("b"), exp, v))
		_, v2, err := s.GetVersion(ctx, "k")
		must(t, err)
		if seen[v] || seen[v2] || v == v2 {
			t.Fatalf("round %d: a version repeated (%d, %d)", i, v, v2)
		}
		seen[v], seen[v2] = true, true
		for _, o := range old[max(0, len(old)-5):] {
			if err := setVersion(s, ctx, "k", []byte("stale"), exp, o); !errors.Is(err, session.ErrConflict) {
				t.Fatalf("round %d: an earlier version was accepted: %v", i, err)
			}
		}
		old = append(old, v, v2)
		if i%2 == 0 {
			must(t, s.Delete(ctx, "k"))
		} else {
			must(t, s.Set(ctx, "k", nil, exp))
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
			must(t, put(s.Prefix()+name))
			isForeign := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, ErrForeignData) || !errors.Is(err, session.ErrCorrupt) {
					t.Fatalf("%s on foreign data: error = %v, want ErrForeignData and session.ErrCorrupt", op, err)
				}
				if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrConflict) {
					t.Fatalf("%s on foreign data: error %v claims not-found or conflict", op, err)
				}
			}
			_, err := s.Get(ctx, name)
			isForeign("Get", err)
			_, _, err = s.GetVersion(ctx, name)
			isForeign("GetVersion", err)
			isForeign("SetVersion(0)", setVersion(s, ctx, name, []byte("x"), exp, 0))
			isForeign("SetVersion(1)", setVersion(s, ctx, name, []byte("x"), exp, 0xab))
			_, err = allRecords(s, ctx)
			isForeign("All", err)
			if n, err := s.Len(ctx); err != nil || n != 1 {
				t.Fatalf("Len = %d, %v; want 1 (the foreign key is under the prefix)", n, err)
			}
			if typ := c.Type(ctx, s.Prefix()+name).Val(); typ == "none" {
				t.Fatal("a failed SetVersion removed the foreign key")
			}

			// Through a Manager: the load fails with ErrStore, nothing is written.
			m, err := session.NewManager(session.WithStore(s), session.WithFingerprint(func(string, session.Exchange) string { return name }))
			must(t, err)
			id := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			x := client(&id)
			if _, err := testenv.Begin(m, x).Session(); !errors.Is(err, session.ErrStore) || !errors.Is(err, ErrForeignData) {
				t.Fatalf("Manager load over foreign data: error = %v, want ErrStore wrapping ErrForeignData", err)
			}

			must(t, s.Clear(ctx))
			if n := c.Exists(ctx, s.Prefix()+name).Val(); n != 0 {
				t.Fatal("Clear left a foreign key under the prefix")
			}
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
	must(t, err)
	loadScript(t, c)
	must(t, c.Ping(context.Background()).Err()) // a pooled connection, so HELLO is not counted below
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
			if err != nil {
				t.Fatalf("%s: Session: %v", name, err)
			}
			handler(sess)
		}
		if err := h.Commit(); err != nil {
			t.Fatalf("%s: Commit: %v", name, err)
		}
		if err := h.Commit(); err != nil { // the adapter's second call
			t.Fatalf("%s: second Commit: %v", name, err)
		}
		if ck := x.LastCookie(); ck != nil {
			cookie = ck.Value
		}
		if got := n.Commands(); got != want {
			t.Fatalf("%s: %d commands, want %d", name, got, want)
		}
		if got := n.RoundTrips(); got != want {
			t.Fatalf("%s: %d round trips, want %d", name, got, want)
		}
	}

	request("untouched request, no cookie", 0, nil)
	request("new session, written", 1, func(s *session.Session) { s.Set("user", "ann") })
	if cookie == "" {
		t.Fatal("no cookie for the new session")
	}
	request("untouched request with a cookie", 0, nil)
	request("load, read, commit", 1, func(s *session.Session) {
		if s.IsNew() || s.Get("user") != "ann" {
			t.Fatalf("session not loaded: new=%v user=%v", s.IsNew(), s.Get("user"))
		}
	})
	request("load, write, commit", 2, func(s *session.Session) { s.Set("n", 1) })
	request("load, read back", 1, func(s *session.Session) {
		if s.Get("n") != 1 {
			t.Fatalf("write not stored: n=%v", s.Get("n"))
		}
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
		must(t, s.Set(ctx, fmt.Sprint("k", i), fmt.Appendf(nil, "v%d", i), exp))
	}
	must(t, other.Set(ctx, "k0", []byte("other"), exp))

	// The keys really lie on every master.
	var mu sync.Mutex
	perMaster := map[string]int{}
	must(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
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
		if k == 0 {
			t.Fatalf("master %s holds none of the %d keys: %v", addr, n, perMaster)
		}
		total += k
	}
	if total != n {
		t.Fatalf("masters hold %d keys in all, want %d: %v", total, n, perMaster)
	}
	t.Logf("keys per master: %v", perMaster)

	if got, err := s.Len(ctx); err != nil || got != n {
		t.Fatalf("Len = %d, %v; want %d", got, err, n)
	}
	all, err := allRecords(s, ctx)
	must(t, err)
	if len(all) != n {
		t.Fatalf("All returned %d records, want %d", len(all), n)
	}
	for i := range n {
		if got := all[fmt.Sprint("k", i)]; string(got) != fmt.Sprint("v", i) {
			t.Fatalf("All[k%d] = %q", i, got)
		}
	}
	must(t, s.Clear(ctx))
	if got, err := s.Len(ctx); err != nil || got != 0 {
		t.Fatalf("Len after Clear = %d, %v", got, err)
	}
	if got, err := other.Get(ctx, "k0"); err != nil || string(got) != "other" {
		t.Fatalf("Clear removed another prefix's key: %q, %v", got, err)
	}
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
	must(t, err)
	if got, err := s.Len(ctx); err != nil || got != n {
		t.Fatalf("Len = %d, %v; want %d", got, err, n)
	}
	all, err := allRecords(s, ctx)
	if err != nil || len(all) != n || string(all["1234"]) != "1234" {
		t.Fatalf("All: %d records, %v; want %d", len(all), err, n)
	}
	must(t, s.Clear(ctx))
	if got, err := s.Len(ctx); err != nil || got != 0 {
		t.Fatalf("Len after Clear = %d, %v", got, err)
	}
}

// TestPrefixIsolation checks that stores with different prefixes on one
// database do not see each other, and that glob characters in a prefix are
// taken literally.
func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	base := testPrefix(t)
	a := mustNew(t, c, WithPrefix(base+"a*:"))
	b := mustNew(t, c, WithPrefix(base+"ab:"))
	t.Cleanup(func() { a.Clear(ctx); b.Clear(ctx) })
	exp := time.Now().Add(time.Minute)
	must(t, a.Set(ctx, "x", []byte("a"), exp))
	must(t, b.Set(ctx, "x", []byte("b"), exp))
	if n, err := a.Len(ctx); err != nil || n != 1 {
		t.Fatalf("a.Len = %d, %v; want 1", n, err)
	}
	must(t, a.Clear(ctx))
	if got, err := b.Get(ctx, "x"); err != nil || string(got) != "b" {
		t.Fatalf("clearing prefix %q removed a key of %q: %q, %v", a.Prefix(), b.Prefix(), got, err)
	}
}

// TestNonUTF8PrefixIsListed gives the store a prefix that is not valid
// UTF-8 and holds glob metacharacters: Len, Range and Clear must see its
// keys, and only its keys. (The SCAN pattern used to be escaped rune by
// rune, which turned the invalid bytes into U+FFFD, so nothing matched.)
func TestNonUTF8PrefixIsListed(t *testing.T) {
	ctx := context.Background()
	c := singleClient(t)
	base := testPrefix(t)
	s := mustNew(t, c, WithPrefix(base+"app\xff\xfe*?[x]\\:"))
	// Same bytes but for the invalid ones: a rune-wise escape would make
	// both prefixes' patterns equal.
	other := mustNew(t, c, WithPrefix(base+"app\uFFFD\uFFFD*?[x]\\:"))
	t.Cleanup(func() { s.Clear(ctx); other.Clear(ctx) })
	exp := time.Now().Add(time.Minute)
	for i := range 3 {
		require.NoError(t, s.Set(ctx, fmt.Sprint("k", i), []byte("v"), exp))
	}
	require.NoError(t, other.Set(ctx, "k0", []byte("other"), exp))

	n, err := s.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "Len under a prefix that is not UTF-8")
	all, err := allRecords(s, ctx)
	require.NoError(t, err)
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
	must(t, err)
	if _, ok := s.Client().(*redis.Client); !ok {
		t.Fatalf("client is %T, want *redis.Client", s.Client())
	}
	must(t, s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)))
	if got, err := s.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	must(t, s.Clear(ctx))
	must(t, s.Close())
	must(t, s.Close()) // twice is fine
	if err := s.Client().Ping(ctx).Err(); err == nil {
		t.Fatal("Close did not close the client NewFromURL made")
	}

	cs, err := NewFromURL("redis://127.0.0.1:7101?addr=127.0.0.1:7102&addr=127.0.0.1:7103")
	must(t, err)
	if _, ok := cs.Client().(*redis.ClusterClient); !ok {
		t.Fatalf("cluster URL made a %T, want *redis.ClusterClient", cs.Client())
	}
	must(t, cs.Close())

	for _, bad := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber", "::"} {
		if _, err := NewFromURL(bad); err == nil {
			t.Errorf("NewFromURL(%q) succeeded", bad)
		}
	}
	if _, err := NewFromURL("redis://"+redisAddr(), WithPrefix("")); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("NewFromURL with an empty prefix: error = %v", err)
	}
}

func TestNewLeavesClientOpen(t *testing.T) {
	c := singleClient(t)
	s := mustNew(t, c)
	if s.Prefix() != DefaultPrefix {
		t.Fatalf("default prefix = %q", s.Prefix())
	}
	must(t, s.Close())
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Close closed a client passed to New: %v", err)
	}
	if _, err := New(c, WithPrefix("")); err == nil {
		t.Fatal("New with an empty prefix returned no error")
	}
	if _, err := New(nil); err == nil {
		t.Fatal("New with a nil client returned no error")
	}
}

func TestHeader(t *testing.T) {
	for _, v := range []uint64{1, 0xab, 1<<63 - 1, 1 << 62} {
		var h [hdrLen]byte
		putHeader(h[:], v)
		got, ok := parseHeader(append(h[:], "data"...))
		if !ok || got != v {
			t.Fatalf("header of %d = %q parses as %d, %v", v, h, got, ok)
		}
	}
	for _, bad := range []string{"", "0123456789abcdef", "0123456789abcdefX", "0123456789abcdeg:", "0000000000000000:"} {
		if _, ok := parseHeader([]byte(bad)); ok {
			t.Fatalf("parseHeader(%q) accepted it", bad)
		}
	}
	for range 1000 {
		if v := newVersion(); v == 0 || v>>63 != 0 {
			t.Fatalf("newVersion() = %d, outside [1, 2^63)", v)
		}
	}
	if got := globEscape(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Fatalf("globEscape = %q", got)
	}
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
