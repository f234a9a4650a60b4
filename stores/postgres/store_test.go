package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
)

func TestConformance(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		return newStore(t)
	})
}

func TestSchemaSQLIsDocumented(t *testing.T) {
	ddl, err := pgstore.SchemaSQL("")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// The doc shows the SQL as a code block: each line after "//\t".
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(ddl, "\n"), "\n") {
		want.WriteString("//\t" + line + "\n")
	}
	if !strings.Contains(string(src), want.String()) {
		t.Fatalf("the package doc does not show the SQL CreateTable runs; it should contain\n%s", want.String())
	}
}

func TestTableNames(t *testing.T) {
	for _, bad := range []string{
		"a;drop table x", `a"b`, "1abc", "a.b.c", ".a", "a.", "ta ble", "täble",
		strings.Repeat("a", 49),
	} {
		if _, err := pgstore.SchemaSQL(bad); err == nil {
			t.Errorf("SchemaSQL(%q) accepted a bad name", bad)
		}
		if _, err := pgstore.New(context.Background(), testPool(t), pgstore.WithTable(bad)); err == nil {
			t.Errorf("New accepted the table name %q", bad)
		}
	}
	ddl, err := pgstore.SchemaSQL("app.Sessions")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, `"app"."Sessions"`) || !strings.Contains(ddl, `"Sessions_expires_at_idx" ON "app"."Sessions"`) {
		t.Fatalf("schema-qualified name not quoted as expected:\n%s", ddl)
	}
}

func TestSchemaQualifiedTable(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	schema := strings.TrimPrefix(uniqueTable(t), "pgstore_test_")
	schema = "pgstore_s_" + schema
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	s := newStore(t, pgstore.WithTable(schema+".Sessions"))
	if err := s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "Sessions"}.Sanitize()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("row not in the schema-qualified table: n=%d err=%v", n, err)
	}
}

func TestMissingTable(t *testing.T) {
	ctx := context.Background()
	table := uniqueTable(t)
	_, err := pgstore.New(ctx, testPool(t), pgstore.WithTable(table))
	if !errors.Is(err, pgstore.ErrNoTable) {
		t.Fatalf("New without CreateTable on a missing table: error = %v, want ErrNoTable", err)
	}
	if !strings.Contains(err.Error(), table) || !strings.Contains(err.Error(), "CreateTable") {
		t.Fatalf("error does not name the table and the remedy: %v", err)
	}

	// A table made by hand with the documented SQL is accepted.
	ddl, _ := pgstore.SchemaSQL(table)
	if _, err := testPool(t).Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.New(ctx, testPool(t), pgstore.WithTable(table))
	if err != nil {
		t.Fatalf("New on a migrated table: %v", err)
	}
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
		if _, err := pool.Exec(ctx, fmt.Sprintf(ddl, pgx.Identifier{table}.Sanitize())); err != nil {
			t.Fatal(err)
		}
		if _, err := pgstore.New(ctx, pool, pgstore.WithTable(table)); !errors.Is(err, pgstore.ErrNoTable) {
			t.Errorf("%s: New error = %v, want ErrNoTable", name, err)
		}
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
		t.Errorf("concurrent New with CreateTable: %v", err)
	}
}

func TestVersionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	seen := map[uint64]bool{}
	for i := range 5 {
		if err := setVersion(s, ctx, "k", []byte("v"), exp, 0); err != nil {
			t.Fatal(err)
		}
		_, v, err := s.GetVersion(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if seen[v] {
			t.Fatalf("round %d: version %d handed out again after delete and recreate", i, v)
		}
		seen[v] = true
		if i%2 == 0 {
			err = s.Delete(ctx, "k")
		} else {
			err = s.Set(ctx, "k", nil, exp)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Set and an unconditional overwrite also change the version.
	s.Set(ctx, "k", []byte("a"), exp)
	_, v1, _ := s.GetVersion(ctx, "k")
	s.Set(ctx, "k", []byte("a"), exp)
	_, v2, _ := s.GetVersion(ctx, "k")
	if v1 == v2 || seen[v1] || seen[v2] {
		t.Fatalf("Set did not give a fresh version: %d, %d", v1, v2)
	}
	// A version beyond int64 can never match.
	if err := setVersion(s, ctx, "k", []byte("x"), exp, 1<<63); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("SetVersion(1<<63) = %v, want ErrConflict", err)
	}
}

func TestSetVersionEmptyDeletes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	if err := setVersion(s, ctx, "k", nil, exp, 0); err != nil {
		t.Fatalf("SetVersion(empty, 0) on a missing key = %v", err)
	}
	setVersion(s, ctx, "k", []byte("v"), exp, 0)
	_, v, _ := s.GetVersion(ctx, "k")
	if err := setVersion(s, ctx, "k", nil, exp, 0); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("SetVersion(empty, 0) on a live key = %v, want ErrConflict", err)
	}
	if err := setVersion(s, ctx, "k", nil, exp, v+1000); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("SetVersion(empty, wrong version) = %v, want ErrConflict", err)
	}
	if err := setVersion(s, ctx, "k", nil, exp, v); err != nil {
		t.Fatalf("SetVersion(empty, current version) = %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("after a versioned delete Get = %v, want ErrNotFound", err)
	}
}

// TestOneStatementPerCall checks the round-trip budget with a tracer on a
// pool of this test's own.
func TestOneStatementPerCall(t *testing.T) {
	ctx := context.Background()
	tr := new(countTracer)
	pool := newPool(t, pgURL(), tr, 2)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(ctx, pool, pgstore.WithTable(uniqueTable(t)), pgstore.WithCreateTable())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	exp := time.Now().Add(time.Minute)
	var v uint64
	calls := []struct {
		name string
		call func() error
	}{
		{"SetVersion(create)", func() error { return setVersion(s, ctx, "k", []byte("a"), exp, 0) }},
		{"GetVersion", func() (err error) { _, v, err = s.GetVersion(ctx, "k"); return err }},
		{"SetVersion(update)", func() error { return setVersion(s, ctx, "k", []byte("b"), exp, v) }},
		{"SetVersion(conflict)", func() error {
			if err := setVersion(s, ctx, "k", []byte("c"), exp, v); !errors.Is(err, session.ErrConflict) {
				return fmt.Errorf("want ErrConflict, got %v", err)
			}
			return nil
		}},
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("d"), exp) }},
		{"Set(empty)", func() error { return s.Set(ctx, "k", nil, exp) }},
		{"Get(missing)", func() error {
			if _, err := s.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
				return fmt.Errorf("want ErrNotFound, got %v", err)
			}
			return nil
		}},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
	}
	for _, c := range calls {
		before := tr.n.Load()
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := tr.n.Load() - before; n != 1 {
			t.Errorf("%s made %d statements, want 1", c.name, n)
		}
	}
}

func TestCleanupLoopDeletesExpiredRows(t *testing.T) {
	ctx := context.Background()
	pool := testPool(t)
	table := uniqueTable(t)
	s := newStore(t, pgstore.WithTable(table), pgstore.WithCleanupInterval(50*time.Millisecond), pgstore.WithCleanupBatch(100))
	tq := pgx.Identifier{table}.Sanitize()
	// 250 expired rows (three batches) and one live row.
	if _, err := pool.Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at)"+
		" SELECT 'dead' || g, 'x', now() - interval '1 second' FROM generate_series(1, 250) g"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	total := func() int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tq).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second) // a liveness bound, not a speed check
	for total() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the cleanup loop left %d rows, want only the live one", total())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "live"); err != nil {
		t.Fatalf("cleanup removed a live row: %v", err)
	}
	s.Close() // stops and waits for the loop
	s.Close()
}

func TestDeleteExpired(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, pgstore.WithCleanupInterval(0), pgstore.WithCleanupBatch(100))
	tq := pgx.Identifier{s.Table()}.Sanitize()
	if _, err := testPool(t).Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at)"+
		" SELECT 'dead' || g, 'x', now() - interval '1 second' FROM generate_series(1, 250) g"); err != nil {
		t.Fatal(err)
	}
	s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute))
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 250 {
		t.Fatalf("DeleteExpired = %d, %v; want 250", n, err)
	}
	if n, err := s.Len(ctx); err != nil || n != 1 {
		t.Fatalf("Len = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteExpired(ctx); err != nil || n != 0 {
		t.Fatalf("second DeleteExpired = %d, %v; want 0", n, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.DeleteExpired(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteExpired with a cancelled context = %v", err)
	}
}

// TestManagerConcurrentWriters runs requests on one session from several
// goroutines, each setting keys of its own: every key must persist. With
// W writers making R requests each, one commit can lose the race at most
// (W-1)*R times, below the core's 16 attempts, so no commit may fail.
func TestManagerConcurrentWriters(t *testing.T) {
	const writers, rounds = 8, 2
	s := newStore(t)
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{"User-Agent": "pgstore-test"}
	x := &sessiontest.Exchange{IP: "192.0.2.7", Headers: headers}
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	if err != nil {
		t.Fatal(err)
	}
	sess.Set("start", true)
	if err := h.Commit(); err != nil {
		t.Fatal(err)
	}
	cookies := map[string][]string{m.CookieName(): {x.LastCookie().Value}}

	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				x := &sessiontest.Exchange{IP: "192.0.2.7", Headers: headers, CookieMap: cookies}
				h := testenv.Begin(m, x)
				sess, err := h.Session()
				if err != nil {
					errs <- err
					return
				}
				if sess.IsNew() {
					errs <- errors.New("the session was not found")
					return
				}
				sess.Set(fmt.Sprintf("w%d.r%d", w, r), w*100+r)
				if err := h.Commit(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sess, err = testenv.Begin(m, &sessiontest.Exchange{IP: "192.0.2.7", Headers: headers, CookieMap: cookies}).Session()
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for r := range rounds {
			k := fmt.Sprintf("w%d.r%d", w, r)
			if sess.Get(k) != w*100+r {
				t.Errorf("key %s = %v, want %d: a concurrent commit was lost", k, sess.Get(k), w*100+r)
			}
		}
	}
	if sess.Get("start") != true {
		t.Error("the original key was lost")
	}
}

// TestManagerCorruptRow plants rows the Manager cannot decode, written
// straight into the table as another program might: loading must fail
// with ErrCorrupt and leave the row alone.
func TestManagerCorruptRow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
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
		if _, err := testPool(t).Exec(ctx, "INSERT INTO "+tq+" (key, data, expires_at) VALUES ($1, $2, now() + interval '1 minute')"+
			" ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data", key, data); err != nil {
			t.Fatal(err)
		}
		_, err := testenv.Begin(m, x).Session()
		if !errors.Is(err, session.ErrCorrupt) {
			t.Fatalf("loading %q: error = %v, want ErrCorrupt", data, err)
		}
		got, err := s.Get(ctx, key)
		if err != nil || string(got) != string(data) {
			t.Fatalf("the failed load changed the row: %q, %v", got, err)
		}
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
	s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(uniqueTable(t)), pgstore.WithCreateTable())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("A", session.IDLength)
	request := func(timeout time.Duration) (loadErr, commitErr error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		x := &sessiontest.Exchange{Ctx: ctx, IP: "192.0.2.9", CookieMap: map[string][]string{m.CookieName(): {id}}}
		_, loadErr = testenv.Begin(m, x).Session()
		// A new session with a value: the commit must write.
		x2 := &sessiontest.Exchange{Ctx: ctx, IP: "192.0.2.9"}
		h := testenv.Begin(m, x2)
		if sess, err := h.Session(); err != nil {
			t.Fatalf("a cookie-less request touched the store: %v", err)
		} else {
			sess.Set("k", "v")
		}
		return loadErr, h.Commit()
	}

	// Nothing listens on the port.
	p.Cut()
	pool.Reset()
	for i := range 3 {
		loadErr, commitErr := request(2 * time.Second)
		for _, err := range []error{loadErr, commitErr} {
			if !errors.Is(err, session.ErrStore) {
				t.Fatalf("closed port, request %d: error = %v, want ErrStore", i, err)
			}
		}
	}
	if _, err := pgstore.Open(context.Background(), dsnVia(t, closedAddr(t))); err == nil {
		t.Fatal("Open on a closed port succeeded")
	}

	// Something listens and never answers: only the deadline ends the call.
	p.BlackHole()
	pool.Reset()
	loadErr, commitErr := request(300 * time.Millisecond)
	for _, err := range []error{loadErr, commitErr} {
		if !errors.Is(err, session.ErrStore) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("black hole: error = %v, want ErrStore wrapping context.DeadlineExceeded", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := pgstore.Open(ctx, dsnVia(t, p.Addr())); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open on a black hole: error = %v, want context.DeadlineExceeded", err)
	}
}

// TestRecovery cuts the connection to a working server and restores it:
// calls fail while it is cut and the same Store and pool work again after.
func TestRecovery(t *testing.T) {
	const maxConns = 2
	p := newProxy(t)
	pool := newPool(t, dsnVia(t, p.Addr()), nil, maxConns)
	t.Cleanup(pool.Close)
	s, err := pgstore.New(context.Background(), pool, pgstore.WithTable(uniqueTable(t)), pgstore.WithCreateTable())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	cookies := map[string][]string{m.CookieName(): {x.LastCookie().Value}}
	if _, err := step(cookies, 2); err != nil {
		t.Fatal(err)
	}

	p.Cut()
	// Each pooled connection, now dead, fails at most one call; then the
	// port refuses new ones. Every call must fail, none may hang or panic.
	for i := range maxConns + 2 {
		if _, err := step(cookies, 3); !errors.Is(err, session.ErrStore) {
			t.Fatalf("call %d while cut: error = %v, want ErrStore", i, err)
		}
	}

	p.Restore()
	if _, err := step(cookies, 3); err != nil {
		t.Fatalf("first call after the server came back: %v", err)
	}
	if _, err := step(cookies, 4); err != nil {
		t.Fatal(err)
	}
	got, err := s.Len(context.Background())
	if err != nil || got != 1 {
		t.Fatalf("Len = %d, %v; want 1", got, err)
	}
}

// TestCleanupSkipsLockedRows recreates an expired row in a transaction
// that stays open while the cleanup runs: the cleanup must neither wait
// for it nor delete the row it brings back to life.
func TestCleanupSkipsLockedRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, pgstore.WithCleanupInterval(0))
	past := time.Now().Add(-time.Second)
	if err := s.Set(ctx, "k", []byte("old"), past); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "other", []byte("old"), past); err != nil {
		t.Fatal(err)
	}
	tx, err := testPool(t).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE "+pgx.Identifier{s.Table()}.Sanitize()+
		" SET data = 'new', expires_at = now() + interval '1 minute' WHERE key = 'k'"); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := s.DeleteExpired(dctx)
	if err != nil {
		t.Fatalf("DeleteExpired beside an open transaction: %v (did it wait for the row lock?)", err)
	}
	if n != 1 {
		t.Fatalf("DeleteExpired deleted %d rows, want 1 (only the unlocked expired row)", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); err != nil || string(got) != "new" {
		t.Fatalf("the recreated row = %q, %v; want %q", got, err, "new")
	}
}

// TestManagerDestroyMatching logs one user out everywhere through the
// store's Lister, as an administrator would.
func TestManagerDestroyMatching(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	login := func(user, ip string) map[string][]string {
		x := &sessiontest.Exchange{IP: ip}
		h := testenv.Begin(m, x)
		sess, err := h.Session()
		if err != nil {
			t.Fatal(err)
		}
		sess.Set("user", user)
		if err := h.Commit(); err != nil {
			t.Fatal(err)
		}
		return map[string][]string{m.CookieName(): {x.LastCookie().Value}}
	}
	ann1, ann2, bob := login("ann", "192.0.2.1"), login("ann", "192.0.2.2"), login("bob", "192.0.2.3")
	n, err := m.DestroyMatching(ctx, func(r session.Record) bool { return r.Values["user"] == "ann" })
	if err != nil || n != 2 {
		t.Fatalf("DestroyMatching = %d, %v; want 2", n, err)
	}
	for _, c := range []struct {
		ip      string
		cookies map[string][]string
		alive   bool
	}{{"192.0.2.1", ann1, false}, {"192.0.2.2", ann2, false}, {"192.0.2.3", bob, true}} {
		sess, err := testenv.Begin(m, &sessiontest.Exchange{IP: c.ip, CookieMap: c.cookies}).Session()
		if err != nil {
			t.Fatal(err)
		}
		if sess.IsNew() == c.alive {
			t.Errorf("session from %s: alive = %v, want %v", c.ip, !sess.IsNew(), c.alive)
		}
	}
}
