package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Constant-time comparisons: a review of every place a secret (a session
// ID) could be compared, as of this module's tests.
//
//   - The core never looks a record up by the session ID: Handle.load
//     hashes the ID with the client into a fingerprint (core/fingerprint.go,
//     SHA-256) and asks the store for that key. MemoryStore finds it in a Go
//     map, redisstore with GET, pgstore with WHERE key = $1 on the primary
//     key. Whatever timing those lookups leak is about a SHA-256 output, and
//     learning a fingerprint byte by byte gets an attacker nowhere: turning
//     it back into a cookie means inverting SHA-256 over a 256-bit secret.
//   - session.ValidID checks the shape of a cookie in constant time for
//     inputs of the right length (no early exit).
//   - pickID (core/handle.go) compares the values of several cookies of the
//     same request with each other: all of them are the client's own input,
//     so their timing tells the client nothing it did not send.
//   - The adapters compare cookie names, never values (fiber's cookie
//     scan, fibersession.go); the stores compare record versions, which are
//     not secrets (redisstore's Lua script, pgstore's WHERE version = $4).
//
// So there is no comparison of a secret against a stored secret to make
// constant-time, and nothing to test for it; TestStoreHoldsNoSessionID
// proves the premise (the store is keyed by the fingerprint, never the ID)
// on real data, and TestCorruptRedisData computes the key the same way.

// TestCookieFlags checks the Set-Cookie attributes every demo sends, with
// -cookie-secure off (the demos' default) and on: HttpOnly, SameSite=Lax,
// Path=/, no Domain, no Max-Age or Expires on a live session (a browser
// session cookie), Secure exactly when configured; the same on the cookie
// a login sets and on the one a logout expires.
func TestCookieFlags(t *testing.T) {
	for _, fw := range Frameworks {
		for _, secure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/secure=%t", fw, secure), func(t *testing.T) {
				d := startDemo(t, fw, fmt.Sprintf("-cookie-secure=%t", secure))
				check := func(what string, r rawResp, expired bool) {
					t.Helper()
					lines := r.header.Values("Set-Cookie")
					require.Len(t, lines, 1, "%s: Set-Cookie headers, want 1", what)
					attrs := map[string]string{}
					parts := strings.Split(lines[0], ";")
					for _, p := range parts[1:] {
						k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
						attrs[strings.ToLower(k)] = v
					}
					_, httpOnly := attrs["httponly"]
					_, sec := attrs["secure"]
					_, domain := attrs["domain"]
					_, maxAge := attrs["max-age"]
					_, expires := attrs["expires"]
					assert.True(t, strings.HasPrefix(parts[0], session.DefaultCookieName+"="), "%s: cookie %q, want %s", what, parts[0], session.DefaultCookieName)
					assert.True(t, httpOnly, "%s: %q lacks HttpOnly", what, lines[0])
					assert.Equal(t, "Lax", attrs["samesite"], "%s: %q, want SameSite=Lax", what, lines[0])
					assert.Equal(t, "/", attrs["path"], "%s: %q, want Path=/", what, lines[0])
					assert.Equal(t, secure, sec, "%s: %q, want Secure %t", what, lines[0], secure)
					assert.False(t, domain, "%s: %q sets a Domain", what, lines[0])
					if expired {
						assert.True(t, attrs["max-age"] == "0" || expires, "%s: %q does not expire the cookie", what, lines[0])
					} else {
						assert.False(t, maxAge || expires, "%s: %q is persistent, want a browser-session cookie", what, lines[0])
					}
				}
				r := rawReq{method: "GET", path: "/api/session"}.do(t, d.URL)
				check("new session", r, false)
				id := r.sid()
				r = rawReq{method: "POST", path: "/api/login", cookie: sidCookie(id),
					headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=ann"}.do(t, d.URL)
				check("login", r, false)
				r = rawReq{method: "POST", path: "/api/logout", cookie: sidCookie(r.sid())}.do(t, d.URL)
				check("logout", r, true)
			})
		}
	}
}

// checkIDs checks that ids are all well-formed 256-bit IDs (43 base64url
// characters decoding to 32 bytes), all different, and that each of the
// 256 bit positions is set in about half of them: within 6 standard
// deviations, which a working crypto/rand misses with probability
// below 1e-6 for the whole set.
func checkIDs(t *testing.T, ids []string) {
	t.Helper()
	seen := make(map[string]struct{}, len(ids))
	var ones [256]int
	for _, id := range ids {
		require.Len(t, id, session.IDLength, "malformed session ID %q", id)
		require.True(t, session.ValidID(id), "malformed session ID %q", id)
		raw, err := base64.RawURLEncoding.DecodeString(id)
		require.NoError(t, err, "session ID %q does not decode", id)
		require.Len(t, raw, 32, "session ID %q does not decode to 32 bytes", id)
		_, dup := seen[id] // not NotContains: it walks the map, O(n²) over 100,000 IDs
		require.False(t, dup, "session ID given twice among %d", len(ids))
		seen[id] = struct{}{}
		for i := range 256 {
			ones[i] += int(raw[i/8]>>(i%8)) & 1
		}
	}
	n := float64(len(ids))
	tol := 6 * math.Sqrt(n*0.25)
	for i, c := range ones {
		assert.InDelta(t, n/2, float64(c), tol, "bit %d is set in %d of %d IDs, want %.0f ± %.0f", i, c, len(ids), n/2, tol)
	}
}

// TestSessionIDsOverHTTP makes 10,000 new sessions through the real HTTP
// path, 2,500 on each framework's demo, and checks their IDs: 43
// base64url characters of 256 random bits, all distinct, bits balanced.
func TestSessionIDsOverHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var all []string
	for _, fw := range Frameworks {
		d := startDemo(t, fw)
		ids, err := Flood(ctx, d.URL, 2500, 8)
		require.NoError(t, err)
		for _, id := range ids {
			require.NotEmpty(t, id, "%s: a new session got no cookie", fw)
		}
		noIDsLogged(t, d, ids)
		all = append(all, ids...)
	}
	checkIDs(t, all)
	t.Logf("%d session IDs over HTTP: all 43 characters, distinct, bits balanced", len(all))
}

// TestSessionIDsInProcess draws 100,000 IDs through the core itself (a new
// session's ID) and checks them the same way.
func TestSessionIDsInProcess(t *testing.T) {
	m, err := session.NewManager()
	require.NoError(t, err)
	defer m.Close()
	x := testExchange{ip: "127.0.0.1", ua: DefaultUserAgent}
	ids := make([]string, 100_000)
	for i := range ids {
		s, err := testenv.Begin(m, x).Session()
		require.NoError(t, err)
		ids[i] = s.ID()
	}
	checkIDs(t, ids)
}

// containsAny reports the first of ids (or their 32 raw bytes) found in b.
func containsAny(b []byte, ids []string, raw [][]byte) (string, bool) {
	for i, id := range ids {
		if bytes.Contains(b, []byte(id)) || bytes.Contains(b, raw[i]) {
			return id, true
		}
	}
	return "", false
}

// TestStoreHoldsNoSessionID runs the load against a demo on Redis and one
// on PostgreSQL, then reads everything the store holds — every key and
// value in the Redis test database (SCAN, and the members of the owner
// index's sorted sets), every row of the PostgreSQL session and owner
// index tables — and looks for each session ID the clients were given, as
// text and as its 32 raw bytes (the IDs of sessions that logins and
// logouts replaced included). Expected: none is there (records are keyed
// by the fingerprint), every key under the store's prefix is a
// 43-character fingerprint or an owner index named by a hash, every key
// in the owner index is a fingerprint, and no ID appears in either demo's
// log.
func TestStoreHoldsNoSessionID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	load := func(t *testing.T, d *Demo) []string {
		res, err := Run(ctx, Config{Target: d.URL, Clients: 10, Duration: time.Second})
		require.NoError(t, err)
		requireClean(t, res)
		noIDsLogged(t, d, res.SessionIDs)
		require.GreaterOrEqual(t, len(res.SessionIDs), 10, "session IDs seen")
		return res.SessionIDs
	}
	decode := func(ids []string) [][]byte {
		raw := make([][]byte, len(ids))
		for i, id := range ids {
			raw[i], _ = base64.RawURLEncoding.DecodeString(id)
		}
		return raw
	}

	t.Run("redis", func(t *testing.T) {
		d := startDemo(t, "gin", "-store", redisURL(), "-lifetime", storeLifetime)
		ids := load(t, d)
		raw := decode(ids)
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: redisDB})
		defer rdb.Close()
		var keys, records, indexed int
		iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			keys++
			id, found := containsAny([]byte(key), ids, raw)
			require.False(t, found, "Redis key %q holds session ID %.6s…", key, id)
			rest, ours := strings.CutPrefix(key, redisstore.DefaultPrefix)
			if owner, ok := strings.CutPrefix(rest, "owner:"); ours && ok {
				// The owner index: a sorted set per user, named by a hash
				// of the user, whose members are the user's session keys.
				assert.Regexp(t, "^[0-9a-f]{32}$", owner, "Redis owner index key %q is not named by a hash", key)
				members, err := rdb.ZRange(ctx, key, 0, -1).Result()
				if err != nil {
					continue // gone meanwhile
				}
				for _, m := range members {
					indexed++
					id, found := containsAny([]byte(m), ids, raw)
					require.False(t, found, "a member of Redis owner index %q holds session ID %.6s…", key, id)
					assert.True(t, session.ValidID(m), "member %q of Redis owner index %q is not a 43-character fingerprint", m, key)
				}
				continue
			}
			if ours {
				assert.True(t, session.ValidID(rest), "Redis key %q is not a 43-character fingerprint", key)
			}
			v, err := rdb.Get(ctx, key).Bytes()
			if err != nil {
				continue // another type, or gone meanwhile
			}
			records++
			id, found = containsAny(v, ids, raw)
			require.False(t, found, "the value of Redis key %q holds session ID %.6s…", key, id)
		}
		require.NoError(t, iter.Err())
		require.GreaterOrEqual(t, records, 5, "records in Redis database %d after 10 clients: the scan missed the data", redisDB)
		t.Logf("Redis: %d keys (%d string records, %d owner index entries) scanned for %d session IDs: none found", keys, records, indexed, len(ids))
	})

	t.Run("postgres", func(t *testing.T) {
		url, schema := pgSchema(t, pgAddr)
		d := startDemo(t, "echo", "-store", url, "-lifetime", storeLifetime)
		ids := load(t, d)
		raw := decode(ids)
		conn, err := pgx.Connect(ctx, pgURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "SELECT key, data, version::text, expires_at::text FROM "+schema+"."+pgstore.DefaultTable)
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			var key, version, expires string
			var data []byte
			require.NoError(t, rows.Scan(&key, &data, &version, &expires))
			n++
			row := []byte(key + "\x00" + version + "\x00" + expires + "\x00" + string(data))
			id, found := containsAny(row, ids, raw)
			require.False(t, found, "a PostgreSQL row holds session ID %.6s…", id)
			assert.True(t, session.ValidID(key), "PostgreSQL key %q is not a 43-character fingerprint", key)
		}
		require.NoError(t, rows.Err())
		require.GreaterOrEqual(t, n, 5, "rows after 10 clients: the query missed the data")
		// The owner index: the user's sessions by their keys.
		rows, err = conn.Query(ctx, "SELECT owner, key, expires_at::text FROM "+schema+"."+pgstore.DefaultTable+"_owners")
		require.NoError(t, err)
		indexed := 0
		for rows.Next() {
			var owner, key, expires string
			require.NoError(t, rows.Scan(&owner, &key, &expires))
			indexed++
			id, found := containsAny([]byte(owner+"\x00"+key+"\x00"+expires), ids, raw)
			require.False(t, found, "a PostgreSQL owner index row holds session ID %.6s…", id)
			assert.True(t, session.ValidID(key), "PostgreSQL owner index key %q is not a 43-character fingerprint", key)
		}
		require.NoError(t, rows.Err())
		t.Logf("PostgreSQL: %d rows and %d owner index rows read for %d session IDs: none found", n, indexed, len(ids))
	})
}

// TestErrorBodiesHoldNoSessionID provokes every client error (400) and
// server error (500, the store cut) of the demos with a live session and
// checks that no body carries the session ID or internal detail.
func TestErrorBodiesHoldNoSessionID(t *testing.T) {
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			p := testenv.StartProxy(t, redisAddr)
			// No go-redis retries: each 500 comes at once.
			d := startDemo(t, fw, "-store", fmt.Sprintf("redis://%s/%d?max_retries=-1", p.Addr(), redisDB), "-lifetime", storeLifetime)
			id := newSession(t, d.URL)
			form := []string{"Content-Type: application/x-www-form-urlencoded"}
			bad := []rawReq{
				{method: "PUT", path: "/api/values/" + strings.Repeat("k", 65), body: "v"},
				{method: "PUT", path: "/api/values/bad.key", body: "v"},
				{method: "PUT", path: "/api/values/k", body: strings.Repeat("x", 5000)},
				{method: "POST", path: "/api/login", headers: form, body: "user="},
				{method: "POST", path: "/api/login", headers: form, body: "user=" + strings.Repeat("u", 65)},
				{method: "POST", path: "/api/login", headers: form, body: "user=%01"},
				{method: "POST", path: "/login", headers: form, body: "user="},
			}
			check := func(req rawReq, want int) {
				t.Helper()
				req.cookie = sidCookie(id)
				r := req.do(t, d.URL) // do fails the test if the body echoes the cookie
				require.Equal(t, want, r.status, "%s %s: %q", req.method, req.path, truncate(r.body, 100))
				require.NotContains(t, r.body, id, "%s %s: the %d body holds the session ID", req.method, req.path, r.status)
				require.NotContains(t, r.body, storeKey(id), "%s %s: the %d body holds the session ID's store key", req.method, req.path, r.status)
			}
			for _, req := range bad {
				check(req, http.StatusBadRequest)
			}
			p.Cut()
			for _, req := range []rawReq{{method: "GET", path: "/api/session"}, {method: "PUT", path: "/api/values/k", body: "v"}, {method: "GET", path: "/"}} {
				check(req, http.StatusInternalServerError)
			}
			p.Restore()
			noIDsLogged(t, d, []string{id, storeKey(id)})
		})
	}
}
