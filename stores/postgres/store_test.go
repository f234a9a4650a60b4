package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		return newStore(t)
	})
}

func TestSchemaSQLIsDocumented(t *testing.T) {
	ddl, err := pgstore.SchemaSQL("")
	require.NoError(t, err)
	require.NoError(t, storetest.SchemaDocumented("doc.go", ddl), "the package doc does not show the SQL CreateTable runs")
}

func TestTableNames(t *testing.T) {
	for _, bad := range []string{
		"a;drop table x", `a"b`, "1abc", "a.b.c", ".a", "a.", "ta ble", "täble",
		strings.Repeat("a", 49),
	} {
		_, err := pgstore.SchemaSQL(bad)
		assert.Error(t, err, "SchemaSQL(%q) accepted a bad name", bad)
		_, err = pgstore.New(context.Background(), testPool(t), pgstore.WithTable(bad))
		assert.Error(t, err, "New accepted the table name %q", bad)
	}
	ddl, err := pgstore.SchemaSQL("app.Sessions")
	require.NoError(t, err)
	require.Contains(t, ddl, `"app"."Sessions"`, "schema-qualified name not quoted as expected")
	require.Contains(t, ddl, `"Sessions_expires_at_idx" ON "app"."Sessions"`, "schema-qualified name not quoted as expected")
}

func TestSchemaQualifiedTable(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	schema := strings.TrimPrefix(uniqueTable(t), "pgstore_test_")
	schema = "pgstore_s_" + schema
	_, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	s := newStore(t, pgstore.WithTable(schema+".Sessions"))
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)))
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "Sessions"}.Sanitize()).Scan(&n))
	require.Equal(t, 1, n, "rows in the schema-qualified table")
}

func TestMissingTable(t *testing.T) {
	ctx := context.Background()
	table := uniqueTable(t)
	_, err := pgstore.New(ctx, testPool(t), pgstore.WithTable(table))
	require.ErrorIs(t, err, pgstore.ErrNoTable, "New without CreateTable on a missing table")
	require.ErrorContains(t, err, table, "the error does not name the table")
	require.ErrorContains(t, err, "CreateTable", "the error does not name the remedy")

	// A table made by hand with the documented SQL is accepted.
	ddl, _ := pgstore.SchemaSQL(table)
	_, err = testPool(t).Exec(ctx, ddl)
	require.NoError(t, err)
	s, err := pgstore.New(ctx, testPool(t), pgstore.WithTable(table))
	require.NoError(t, err, "New on a migrated table")
	s.Close()
}

func TestIncompleteTable(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	for name, ddl := range map[string]string{
		"no expires_at":     "CREATE TABLE %s (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY)",
		"version not drawn": "CREATE TABLE %s (key text PRIMARY KEY, data bytea NOT NULL, version bigint NOT NULL, expires_at timestamptz NOT NULL)",
	} {
		table := uniqueTable(t)
		_, err := pool.Exec(ctx, fmt.Sprintf(ddl, pgx.Identifier{table}.Sanitize()))
		require.NoError(t, err)
		_, err = pgstore.New(ctx, pool, pgstore.WithTable(table))
		assert.ErrorIs(t, err, pgstore.ErrNoTable, name)
	}
}

func TestConcurrentCreateTable(t *testing.T) {
	table := uniqueTable(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := pgstore.New(context.Background(), testPool(t), pgstore.WithTable(table), pgstore.WithCreateTable())
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err, "concurrent New with CreateTable")
	}
}

func TestVersionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	seen := map[uint64]bool{}
	for i := range 5 {
		require.NoError(t, setVersion(s, ctx, "k", []byte("v"), exp, 0))
		_, v, err := s.GetVersion(ctx, "k")
		require.NoError(t, err)
		require.False(t, seen[v], "round %d: version %d handed out again after delete and recreate", i, v)
		seen[v] = true
		if i%2 == 0 {
			err = s.Delete(ctx, "k")
		} else {
			err = s.Set(ctx, "k", nil, exp)
		}
		require.NoError(t, err)
	}
	// Set and an unconditional overwrite also change the version.
	s.Set(ctx, "k", []byte("a"), exp)
	_, v1, _ := s.GetVersion(ctx, "k")
	s.Set(ctx, "k", []byte("a"), exp)
	_, v2, _ := s.GetVersion(ctx, "k")
	require.False(t, v1 == v2 || seen[v1] || seen[v2], "Set did not give a fresh version: %d, %d", v1, v2)
	// A version beyond int64 can never match.
	require.ErrorIs(t, setVersion(s, ctx, "k", []byte("x"), exp, 1<<63), session.ErrConflict, "SetVersion(1<<63)")
}

func TestSetVersionEmptyDeletes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	require.NoError(t, setVersion(s, ctx, "k", nil, exp, 0), "SetVersion(empty, 0) on a missing key")
	setVersion(s, ctx, "k", []byte("v"), exp, 0)
	_, v, _ := s.GetVersion(ctx, "k")
	require.ErrorIs(t, setVersion(s, ctx, "k", nil, exp, 0), session.ErrConflict, "SetVersion(empty, 0) on a live key")
	require.ErrorIs(t, setVersion(s, ctx, "k", nil, exp, v+1000), session.ErrConflict, "SetVersion(empty, wrong version)")
	require.NoError(t, setVersion(s, ctx, "k", nil, exp, v), "SetVersion(empty, current version)")
	_, err := s.Get(ctx, "k")
	require.ErrorIs(t, err, session.ErrNotFound, "Get after a versioned delete")
}

// TestOneStatementPerCall checks the round-trip budget with a tracer on a
// pool of this test's own.
func TestOneStatementPerCall(t *testing.T) {
	tr := new(countTracer)
	pool := newPool(t, pgURL(), tr, 2)
	t.Cleanup(pool.Close)
	require.NoError(t, storetest.OneStatementEach(context.Background(), newStoreOn(t, pool), tr.n.Load))
}

func TestCleanupLoopDeletesExpiredRows(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := uniqueTable(t)
	s := newStore(t, pgstore.WithTable(table), pgstore.WithCleanupInterval(50*time.Millisecond), pgstore.WithCleanupBatch(100))
	tq := pgx.Identifier{table}.Sanitize()
	// 250 expired rows (three batches) and one live row.
	_, err := pool.Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at)"+
		" SELECT 'dead' || g, 'x', now() - interval '1 second' FROM generate_series(1, 250) g")
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute)))
	total := func() int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+tq).Scan(&n))
		return n
	}
	deadline := time.Now().Add(20 * time.Second) // a liveness bound, not a speed check
	for total() != 1 {
		require.False(t, time.Now().After(deadline), "the cleanup loop left %d rows, want only the live one", total())
		time.Sleep(20 * time.Millisecond)
	}
	_, err = s.Get(ctx, "live")
	require.NoError(t, err, "cleanup removed a live row")
	s.Close() // stops and waits for the loop
	s.Close()
}

func TestDeleteExpired(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, pgstore.WithCleanupInterval(0), pgstore.WithCleanupBatch(100))
	tq := pgx.Identifier{s.Table()}.Sanitize()
	_, err := testPool(t).Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at)"+
		" SELECT 'dead' || g, 'x', now() - interval '1 second' FROM generate_series(1, 250) g")
	require.NoError(t, err)
	s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute))
	n, err := s.DeleteExpired(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 250, n, "rows DeleteExpired deleted")
	live, err := s.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, live, "Len")
	n, err = s.DeleteExpired(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "rows a second DeleteExpired deleted")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.DeleteExpired(cctx)
	require.ErrorIs(t, err, context.Canceled, "DeleteExpired with a cancelled context")
}

// TestManagerConcurrentWriters runs requests on one session from several
// goroutines, each setting keys of its own: every key must persist. With
// W writers making R requests each, one commit can lose the race at most
// (W-1)*R times, below the core's 16 attempts, so no commit may fail.
func TestManagerConcurrentWriters(t *testing.T) {
	m, err := session.NewManager(session.WithStore(newStore(t)))
	require.NoError(t, err)
	require.NoError(t, storetest.ConcurrentWriters(m, 8, 2))
}

// TestManagerCorruptRow plants rows the Manager cannot decode, written
// straight into the table as another program might: loading must fail
// with ErrCorrupt and leave the row alone.
func TestManagerCorruptRow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	id := strings.Repeat("A", session.IDLength) // well formed, never issued
	x := &sessiontest.Exchange{IP: "192.0.2.8", Headers: map[string]string{"User-Agent": "ua"},
		CookieMap: map[string][]string{m.CookieName(): {id}}}
	key := session.FingerprintIDIPUserAgent(id, x)
	tq := pgx.Identifier{s.Table()}.Sanitize()
	for _, data := range [][]byte{
		[]byte(`{"user":"json from another app"}`),
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x00},
	} {
		_, err := testPool(t).Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at) VALUES ($1, $2, now() + interval '1 minute')"+
			" ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data", key, data)
		require.NoError(t, err)
		_, err = testenv.Begin(m, x).Session()
		require.ErrorIs(t, err, session.ErrCorrupt, "loading %q", data)
		got, err := s.Get(ctx, key)
		require.NoError(t, err, "the failed load removed the row")
		require.Equal(t, data, got, "the failed load changed the row")
	}
}

// TestUnreachable points a Store at a closed loopback port, then at a
// server that accepts connections and never answers: calls through a
// Manager fail with ErrStore, and the black hole is left by the request's
// deadline (the error wraps context.DeadlineExceeded).
func TestUnreachable(t *testing.T) {
	p := newProxy(t)
	pool := newPool(t, dsnVia(t, p.Addr()), nil, 2)
	t.Cleanup(pool.Close)
	s := newStoreOn(t, pool)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	id := strings.Repeat("A", session.IDLength)
	request := func(timeout time.Duration) (loadErr, commitErr error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		x := &sessiontest.Exchange{Ctx: ctx, IP: "192.0.2.9", CookieMap: map[string][]string{m.CookieName(): {id}}}
		_, loadErr = testenv.Begin(m, x).Session()
		// A new session with a value: the commit must write.
		x2 := &sessiontest.Exchange{Ctx: ctx, IP: "192.0.2.9"}
		h := testenv.Begin(m, x2)
		sess, err := h.Session()
		require.NoError(t, err, "a cookie-less request touched the store")
		sess.Set("k", "v")
		return loadErr, h.Commit()
	}

	// Nothing listens on the port.
	p.Cut()
	pool.Reset()
	for i := range 3 {
		loadErr, commitErr := request(2 * time.Second)
		require.ErrorIs(t, loadErr, session.ErrStore, "closed port, request %d: load", i)
		require.ErrorIs(t, commitErr, session.ErrStore, "closed port, request %d: commit", i)
	}
	_, err = pgstore.Open(context.Background(), dsnVia(t, closedAddr(t)))
	require.Error(t, err, "Open on a closed port")

	// Something listens and never answers: only the deadline ends the call.
	p.BlackHole()
	pool.Reset()
	loadErr, commitErr := request(300 * time.Millisecond)
	for what, err := range map[string]error{"load": loadErr, "commit": commitErr} {
		require.ErrorIs(t, err, session.ErrStore, "black hole: %s", what)
		require.ErrorIs(t, err, context.DeadlineExceeded, "black hole: %s", what)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = pgstore.Open(ctx, dsnVia(t, p.Addr()))
	require.ErrorIs(t, err, context.DeadlineExceeded, "Open on a black hole")
}

// TestRecovery cuts the connection to a working server and restores it:
// calls fail while it is cut and the same Store and pool work again after.
func TestRecovery(t *testing.T) {
	const maxConns = 2
	p := newProxy(t)
	pool := newPool(t, dsnVia(t, p.Addr()), nil, maxConns)
	t.Cleanup(pool.Close)
	s := newStoreOn(t, pool)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	ua := map[string]string{"User-Agent": "recovery"}
	step := func(cookies map[string][]string, n int) (*sessiontest.Exchange, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		x := &sessiontest.Exchange{Ctx: ctx, IP: "192.0.2.10", Headers: ua, CookieMap: cookies}
		h := testenv.Begin(m, x)
		sess, err := h.Session()
		if err != nil {
			return x, err
		}
		if got, _ := session.GetAs[int](sess, "n"); got != n-1 {
			return x, fmt.Errorf("n = %d, want %d", got, n-1)
		}
		sess.Set("n", n)
		return x, h.Commit()
	}
	x, err := step(nil, 1)
	require.NoError(t, err)
	cookies := map[string][]string{m.CookieName(): {x.LastCookie().Value}}
	_, err = step(cookies, 2)
	require.NoError(t, err)

	p.Cut()
	// Each pooled connection, now dead, fails at most one call; then the
	// port refuses new ones. Every call must fail, none may hang or panic.
	for i := range maxConns + 2 {
		_, err := step(cookies, 3)
		require.ErrorIs(t, err, session.ErrStore, "call %d while cut", i)
	}

	p.Restore()
	_, err = step(cookies, 3)
	require.NoError(t, err, "first call after the server came back")
	_, err = step(cookies, 4)
	require.NoError(t, err)
	got, err := s.Len(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, got, "Len")
}

// TestCleanupSkipsLockedRows recreates an expired row in a transaction
// that stays open while the cleanup runs: the cleanup must neither wait
// for it nor delete the row it brings back to life.
func TestCleanupSkipsLockedRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, pgstore.WithCleanupInterval(0))
	past := time.Now().Add(-time.Second)
	require.NoError(t, s.Set(ctx, "k", []byte("old"), past))
	require.NoError(t, s.Set(ctx, "other", []byte("old"), past))
	tx, err := testPool(t).Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, "UPDATE "+pgx.Identifier{s.Table()}.Sanitize()+
		" SET data = 'new', expires_at = now() + interval '1 minute' WHERE key = 'k'")
	require.NoError(t, err)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := s.DeleteExpired(dctx)
	require.NoError(t, err, "DeleteExpired beside an open transaction (did it wait for the row lock?)")
	require.EqualValues(t, 1, n, "rows DeleteExpired deleted: only the unlocked expired row")
	require.NoError(t, tx.Commit(ctx))
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "new", string(got), "the recreated row")
}

// TestManagerDestroyMatching logs one user out everywhere through the
// store's Lister, as an administrator would.
func TestManagerDestroyMatching(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	login := func(user, ip string) map[string][]string {
		x := &sessiontest.Exchange{IP: ip}
		h := testenv.Begin(m, x)
		sess, err := h.Session()
		require.NoError(t, err)
		sess.Set("user", user)
		require.NoError(t, h.Commit())
		return map[string][]string{m.CookieName(): {x.LastCookie().Value}}
	}
	ann1, ann2, bob := login("ann", "192.0.2.1"), login("ann", "192.0.2.2"), login("bob", "192.0.2.3")
	n, err := m.DestroyMatching(ctx, func(r session.Record) bool { return r.Values["user"] == "ann" })
	require.NoError(t, err)
	require.Equal(t, 2, n, "sessions DestroyMatching destroyed")
	for _, c := range []struct {
		ip      string
		cookies map[string][]string
		alive   bool
	}{{"192.0.2.1", ann1, false}, {"192.0.2.2", ann2, false}, {"192.0.2.3", bob, true}} {
		sess, err := testenv.Begin(m, &sessiontest.Exchange{IP: c.ip, CookieMap: c.cookies}).Session()
		require.NoError(t, err)
		assert.Equal(t, c.alive, !sess.IsNew(), "session from %s alive", c.ip)
	}
}
