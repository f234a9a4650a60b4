package loadtest

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testExchange is the session.Exchange of the requests the tests send (from
// 127.0.0.1 with DefaultUserAgent), so that the test can compute the store
// key of a session with the core's own fingerprint function, the same way
// the demo does.
type testExchange struct{ ip, ua string }

func (c testExchange) Context() context.Context  { return context.Background() }
func (c testExchange) Cookies(string) []string   { return nil }
func (c testExchange) ClientIP() string          { return c.ip }
func (c testExchange) SetCookie(*http.Cookie)    {}
func (c testExchange) SetHeader(string, string)  {}
func (c testExchange) Header(name string) string { return map[string]string{"User-Agent": c.ua}[name] }

// storeKey returns the key under which the demos store session id of a
// test client: never the ID itself, its fingerprint.
func storeKey(id string) string {
	return session.FingerprintIDIPUserAgent(id, testExchange{ip: "127.0.0.1", ua: DefaultUserAgent})
}

// corruptFails checks that every session route of the demo at base fails
// with a bare 500 on the session id whose stored data is corrupt, and
// that the data is still what it was afterwards (nothing overwrote it).
func corruptFails(t *testing.T, base, id string, stored func() string) {
	t.Helper()
	before := stored()
	for _, req := range []rawReq{
		{method: "GET", path: "/api/session"},
		{method: "GET", path: "/api/peek"},
		{method: "GET", path: "/api/values/k"},
		{method: "PUT", path: "/api/values/k", body: "overwrite?"},
		{method: "DELETE", path: "/api/values/k"},
		{method: "POST", path: "/api/login", headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=mallory"},
		{method: "POST", path: "/api/logout"},
		{method: "GET", path: "/"},
	} {
		req.cookie = sidCookie(id)
		r := req.do(t, base)
		require.Equal(t, http.StatusInternalServerError, r.status, "%s %s on a corrupt record: %q, want 500", req.method, req.path, truncate(r.body, 100))
		require.Empty(t, r.cookies, "%s %s on a corrupt record set a cookie", req.method, req.path)
		low := strings.ToLower(r.body)
		for _, w := range append(leakWords, "corrupt", "decode", "record") {
			require.NotContains(t, low, w, "%s %s answered %q, which reveals internals", req.method, req.path, r.body)
		}
	}
	after := stored()
	require.Equal(t, before, after, "the corrupt record was overwritten")
}

// TestCorruptRedisData writes garbage into Redis under a live session's
// key (in four forms: no record header, a header with an undecodable
// record, a real record cut in half, a Redis list instead of a string) and
// sends that session's cookie to every route. Expected: 500 through the
// framework's error path, without internal detail and without a cookie;
// no panic; the garbage is still there afterwards (no request overwrote
// or deleted it); the failure is logged; once the real record is put back
// the session works again.
func TestCorruptRedisData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: redisDB})
	defer rdb.Close()
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			d := startDemo(t, fw, "-store", redisURL(), "-lifetime", storeLifetime)
			id := newSession(t, d.URL)
			key := redisstore.DefaultPrefix + storeKey(id)
			good, err := rdb.Get(ctx, key).Result()
			require.NoError(t, err, "the session is not in Redis under the fingerprint the core computes")
			stored := func() string {
				if typ := rdb.Type(ctx, key).Val(); typ == "list" {
					return "list:" + strings.Join(rdb.LRange(ctx, key, 0, -1).Val(), ",")
				}
				v, err := rdb.Get(ctx, key).Result()
				if err != nil {
					return "error: " + err.Error()
				}
				return v
			}
			for _, c := range []struct {
				name string
				set  func() error
			}{
				{"NoHeader", func() error { return rdb.Set(ctx, key, "garbage", time.Minute).Err() }},
				{"HeaderThenGarbage", func() error {
					return rdb.Set(ctx, key, "0123456789abcdef:\x00\x01\xffgarbage", time.Minute).Err()
				}},
				{"RecordCutInHalf", func() error { return rdb.Set(ctx, key, good[:len(good)/2+9], time.Minute).Err() }},
				{"ZeroVersionHeader", func() error { return rdb.Set(ctx, key, "0000000000000000:"+good[17:], time.Minute).Err() }},
				{"ListNotString", func() error {
					if err := rdb.Del(ctx, key).Err(); err != nil {
						return err
					}
					return rdb.RPush(ctx, key, "x", "y").Err()
				}},
			} {
				t.Run(c.name+"_500_DataKept", func(t *testing.T) {
					require.NoError(t, c.set())
					corruptFails(t, d.URL, id, stored)
				})
			}
			// The real record back: the session works again.
			rdb.Del(ctx, key)
			require.NoError(t, rdb.Set(ctx, key, good, time.Minute).Err())
			st := (rawReq{method: "GET", path: "/api/session", cookie: sidCookie(id)}).do(t, d.URL).state(t)
			require.Equal(t, 2, st.Views, "with the record restored: %+v, want views 2", st)
			assert.Contains(t, d.Log(), "level=ERROR", "the corrupt records were not logged")
			noIDsLogged(t, d, []string{id})
		})
	}
}

// TestCorruptPostgresData does the same in PostgreSQL: the row of a live
// session gets bytes that are not a record. Expected: 500 on every route,
// no panic, the row unchanged, and the session back once its data is.
func TestCorruptPostgresData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			url, schema := pgSchema(t, pgAddr)
			d := startDemo(t, fw, "-store", url, "-lifetime", storeLifetime)
			conn, err := pgx.Connect(ctx, pgURL)
			require.NoError(t, err)
			defer conn.Close(ctx)
			table := schema + "." + pgstore.DefaultTable
			id := newSession(t, d.URL)
			key := storeKey(id)
			var good []byte
			err = conn.QueryRow(ctx, "SELECT data FROM "+table+" WHERE key = $1", key).Scan(&good)
			require.NoError(t, err, "the session is not in PostgreSQL under the fingerprint the core computes")
			stored := func() string {
				var b []byte
				if err := conn.QueryRow(ctx, "SELECT data FROM "+table+" WHERE key = $1", key).Scan(&b); err != nil {
					return "error: " + err.Error()
				}
				return string(b)
			}
			for _, c := range []struct {
				name string
				data []byte
			}{
				{"Garbage", []byte("garbage")},
				{"CutInHalf", good[:len(good)/2]},
				{"BadVersionByte", append([]byte{good[0], good[1], 0xff}, good[3:]...)},
				{"TrailingBytes", append(bytes.Clone(good), 0, 1, 2)},
			} {
				t.Run(c.name+"_500_DataKept", func(t *testing.T) {
					_, err := conn.Exec(ctx, "UPDATE "+table+" SET data = $2 WHERE key = $1", key, c.data)
					require.NoError(t, err)
					corruptFails(t, d.URL, id, stored)
				})
			}
			_, err = conn.Exec(ctx, "UPDATE "+table+" SET data = $2 WHERE key = $1", key, good)
			require.NoError(t, err)
			st := (rawReq{method: "GET", path: "/api/session", cookie: sidCookie(id)}).do(t, d.URL).state(t)
			require.Equal(t, 2, st.Views, "with the record restored: %+v, want views 2", st)
			noIDsLogged(t, d, []string{id})
		})
	}
}
