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
					if len(lines) != 1 {
						t.Fatalf("%s: %d Set-Cookie headers %q, want 1", what, len(lines), lines)
					}
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
					switch {
					case !strings.HasPrefix(parts[0], session.DefaultCookieName+"="):
						t.Errorf("%s: cookie %q, want %s", what, parts[0], session.DefaultCookieName)
					case !httpOnly:
						t.Errorf("%s: %q lacks HttpOnly", what, lines[0])
					case attrs["samesite"] != "Lax":
						t.Errorf("%s: %q, want SameSite=Lax", what, lines[0])
					case attrs["path"] != "/":
						t.Errorf("%s: %q, want Path=/", what, lines[0])
					case sec != secure:
						t.Errorf("%s: %q, want Secure %t", what, lines[0], secure)
					case domain:
						t.Errorf("%s: %q sets a Domain", what, lines[0])
					case !expired && (maxAge || expires):
						t.Errorf("%s: %q is persistent, want a browser-session cookie", what, lines[0])
					case expired && attrs["max-age"] != "0" && !expires:
						t.Errorf("%s: %q does not expire the cookie", what, lines[0])
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
		if len(id) != session.IDLength || !session.ValidID(id) {
			t.Fatalf("malformed session ID %q", id)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 32 {
			t.Fatalf("session ID %q does not decode to 32 bytes: %v", id, err)
		}
		if _, dup := seen[id]; dup {
			t.Fatalf("session ID given twice among %d", len(ids))
		}
		seen[id] = struct{}{}
		for i := range 256 {
			ones[i] += int(raw[i/8]>>(i%8)) & 1
		}
	}
	n := float64(len(ids))
	tol := 6 * math.Sqrt(n*0.25)
	for i, c := range ones {
		if math.Abs(float64(c)-n/2) > tol {
			t.Errorf("bit %d is set in %d of %d IDs, want %.0f ± %.0f", i, c, len(ids), n/2, tol)
		}
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
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if id == "" {
				t.Fatalf("%s: a new session got no cookie", fw)
			}
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
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := testExchange{ip: "127.0.0.1", ua: DefaultUserAgent}
	ids := make([]string, 100_000)
	for i := range ids {
		s, err := testenv.Begin(m, x).Session()
		if err != nil {
			t.Fatal(err)
		}
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
// value in the Redis test database (SCAN), every row of the PostgreSQL
// table — and looks for each session ID the clients were given, as text
// and as its 32 raw bytes (the IDs of sessions that logins and logouts
// replaced included). Expected: none is there (records are keyed by
// the fingerprint), every key under the store's prefix is a 43-character
// fingerprint, and no ID appears in either demo's log.
func TestStoreHoldsNoSessionID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	load := func(t *testing.T, d *Demo) []string {
		res, err := Run(ctx, Config{Target: d.URL, Clients: 10, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		requireClean(t, res)
		noIDsLogged(t, d, res.SessionIDs)
		if len(res.SessionIDs) < 10 {
			t.Fatalf("only %d session IDs seen", len(res.SessionIDs))
		}
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
		var keys, records int
		iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			keys++
			if id, ok := containsAny([]byte(key), ids, raw); ok {
				t.Fatalf("Redis key %q holds session ID %.6s…", key, id)
			}
			if fp, ok := strings.CutPrefix(key, redisstore.DefaultPrefix); ok && !session.ValidID(fp) {
				t.Errorf("Redis key %q is not a 43-character fingerprint", key)
			}
			v, err := rdb.Get(ctx, key).Bytes()
			if err != nil {
				continue // another type, or gone meanwhile
			}
			records++
			if id, ok := containsAny(v, ids, raw); ok {
				t.Fatalf("the value of Redis key %q holds session ID %.6s…", key, id)
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		if records < 5 {
			t.Fatalf("only %d records in Redis database %d after 10 clients: the scan missed the data", records, redisDB)
		}
		t.Logf("Redis: %d keys (%d string records) scanned for %d session IDs: none found", keys, records, len(ids))
	})

	t.Run("postgres", func(t *testing.T) {
		url, schema := pgSchema(t, pgAddr)
		d := startDemo(t, "echo", "-store", url, "-lifetime", storeLifetime)
		ids := load(t, d)
		raw := decode(ids)
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "SELECT key, data, version::text, expires_at::text FROM "+schema+"."+pgstore.DefaultTable)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var key, version, expires string
			var data []byte
			if err := rows.Scan(&key, &data, &version, &expires); err != nil {
				t.Fatal(err)
			}
			n++
			row := []byte(key + "\x00" + version + "\x00" + expires + "\x00" + string(data))
			if id, ok := containsAny(row, ids, raw); ok {
				t.Fatalf("a PostgreSQL row holds session ID %.6s…", id)
			}
			if !session.ValidID(key) {
				t.Errorf("PostgreSQL key %q is not a 43-character fingerprint", key)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 5 {
			t.Fatalf("only %d rows after 10 clients: the query missed the data", n)
		}
		t.Logf("PostgreSQL: %d rows read for %d session IDs: none found", n, len(ids))
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
				if r.status != want {
					t.Fatalf("%s %s: %d %q, want %d", req.method, req.path, r.status, truncate(r.body, 100), want)
				}
				if strings.Contains(r.body, id) || strings.Contains(r.body, storeKey(id)) {
					t.Fatalf("%s %s: the %d body holds the session ID or its store key", req.method, req.path, r.status)
				}
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
