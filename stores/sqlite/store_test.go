package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		return newStore(t)
	})
}

// TestConformanceOnOneConnection runs the kit on a *sql.DB that holds a
// single connection, as applications often configure SQLite: nothing
// the store does may wait for a second one.
func TestConformanceOnOneConnection(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		db := rawDB(t, dbPath(t))
		db.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := sqlitestore.New(ctx, db)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSchemaSQLIsDocumented(t *testing.T) {
	ddl, err := sqlitestore.SchemaSQL("")
	require.NoError(t, err)
	assert.NoError(t, storetest.SchemaDocumented("doc.go", ddl), "the package doc does not show the SQL the store runs")
}

func TestTableNames(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []string{
		"", "a;drop table x", `a"b`, "1abc", "a.b", "ta ble", "täble", "sqlite_x", "SQLITE_sessions",
		strings.Repeat("a", 49),
	} {
		_, err := sqlitestore.SchemaSQL(bad)
		if bad != "" { // "" means the default in SchemaSQL
			assert.Error(t, err, "SchemaSQL(%q)", bad)
		}
		_, err = sqlitestore.Open(ctx, dbPath(t), sqlitestore.WithTable(bad))
		assert.Error(t, err, "Open accepted the table name %q", bad)
	}
	s := newStore(t, sqlitestore.WithTable("App_Sessions2"))
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)))
	assert.Equal(t, 1, countRows(t, s.DB(), "App_Sessions2"))
	assert.Equal(t, 0, countRows(t, s.DB(), "App_Sessions2_owners"))
}

func TestOptionsAreChecked(t *testing.T) {
	ctx := context.Background()
	for name, opt := range map[string]sqlitestore.Option{
		"nil":                   nil,
		"zero cleanup interval": sqlitestore.WithCleanupInterval(0),
		"zero batch":            sqlitestore.WithCleanupBatch(0),
		"negative batch":        sqlitestore.WithCleanupBatch(-1),
		"nil logger":            sqlitestore.WithLogger(nil),
		"zero busy timeout":     sqlitestore.WithBusyTimeout(0),
		"bad synchronous":       sqlitestore.WithSynchronous(7),
	} {
		path := dbPath(t)
		_, err := sqlitestore.Open(ctx, path, opt)
		assert.Error(t, err, name)
		_, statErr := os.Stat(path)
		assert.True(t, errors.Is(statErr, os.ErrNotExist), "%s: Open created the file before checking its options", name)
	}
	for _, path := range []string{"", ":memory:", "file:sessions.db?mode=rwc"} {
		_, err := sqlitestore.Open(ctx, path)
		assert.Error(t, err, "Open(%q)", path)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	// '?', '#' and '%' are part of the file name, not URI syntax.
	dir := t.TempDir()
	path := dir + "/odd ?name#1%20.db"
	s := openStore(t, path)
	require.NoError(t, s.Set(context.Background(), "k", []byte("v"), time.Now().Add(time.Minute)))
	_, err := os.Stat(path)
	require.NoError(t, err, "the database was not created under its literal name")
}

func TestOpenSetsWALAndSynchronous(t *testing.T) {
	for _, c := range []struct {
		opt  []sqlitestore.Option
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{nil, 1}, {[]sqlitestore.Option{sqlitestore.WithSynchronous(sqlitestore.SynchronousFull)}, 2}} {
		s := newStore(t, append(c.opt, sqlitestore.WithBusyTimeout(1234*time.Millisecond))...)
		ctx := context.Background()
		// Every connection of the pool, not only the first.
		var conns []*sql.Conn
		for range 3 {
			conn, err := s.DB().Conn(ctx)
			require.NoError(t, err)
			conns = append(conns, conn)
		}
		for _, conn := range conns {
			var mode string
			var sync, busy int
			require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
			require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
			require.NoError(t, conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
			assert.Equal(t, "wal", mode)
			assert.Equal(t, c.want, sync)
			assert.Equal(t, 1234, busy)
			conn.Close()
		}
	}
}

// TestVersionsNeverRepeat deletes and recreates the key holding the
// highest version, the case where a plain rowid would be handed out
// again: a request holding the old version must not overwrite the new
// session.
func TestVersionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	seen := map[uint64]bool{}
	for i := range 6 {
		v, err := s.SetVersion(ctx, "k", []byte("v"), exp, 0)
		require.NoError(t, err)
		require.False(t, seen[v], "round %d: version %d handed out again after delete and recreate", i, v)
		seen[v] = true
		switch i % 3 {
		case 0:
			require.NoError(t, s.Delete(ctx, "k"))
		case 1:
			require.NoError(t, s.Set(ctx, "k", nil, exp))
		case 2:
			require.NoError(t, setVersion(s, "k", nil, exp, v))
		}
		// The version read before the delete matches nothing now.
		_, err = s.SetVersion(ctx, "k", []byte("stale"), exp, v)
		require.ErrorIs(t, err, session.ErrConflict)
		_, err = s.Get(ctx, "k")
		require.ErrorIs(t, err, session.ErrNotFound, "a stale SetVersion recreated the deleted key")
	}
	// Set and an unconditional overwrite also change the version.
	require.NoError(t, s.Set(ctx, "k", []byte("a"), exp))
	_, v1, err := s.GetVersion(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", []byte("a"), exp))
	_, v2, err := s.GetVersion(ctx, "k")
	require.NoError(t, err)
	assert.NotEqual(t, v1, v2)
	assert.False(t, seen[v1] || seen[v2], "Set reused a version")

	// Even after Clear emptied the table.
	require.NoError(t, s.Clear(ctx))
	v3, err := s.SetVersion(ctx, "k", []byte("b"), exp, 0)
	require.NoError(t, err)
	assert.Greater(t, v3, v2, "Clear reset the version sequence")

	// A version beyond int64 can never match.
	require.ErrorIs(t, setVersion(s, "k", []byte("x"), exp, 1<<63), session.ErrConflict)
}

func TestVersionsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path)
	exp := time.Now().Add(time.Minute)
	v1, err := s.SetVersion(ctx, "k", []byte("a"), exp, 0)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, "k"))
	require.NoError(t, s.Close())

	s2 := openStore(t, path)
	v2, err := s2.SetVersion(ctx, "k", []byte("b"), exp, 0)
	require.NoError(t, err)
	assert.Greater(t, v2, v1, "a reopened store handed out an old version")
	require.ErrorIs(t, setVersion(s2, "k", []byte("c"), exp, v1), session.ErrConflict)
}

func TestSetVersionEmptyDeletes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	require.NoError(t, setVersion(s, "k", nil, exp, 0), "SetVersion(empty, 0) on a missing key")
	v, err := s.SetVersion(ctx, "k", []byte("v"), exp, 0)
	require.NoError(t, err)
	require.ErrorIs(t, setVersion(s, "k", nil, exp, 0), session.ErrConflict, "conditional delete at 0 of a live key")
	require.ErrorIs(t, setVersion(s, "k", nil, exp, v+1000), session.ErrConflict, "conditional delete at a wrong version")
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(got), "a refused conditional delete changed the record")
	require.NoError(t, setVersion(s, "k", nil, exp, v))
	_, err = s.Get(ctx, "k")
	require.ErrorIs(t, err, session.ErrNotFound)
}

// TestExpiredRecordsAreAbsent covers every reader: a record past its
// expiry is not there for Get, GetVersion, Range, Len or a compare-and-
// swap, and an owner entry past its expiry is not listed, even though
// the rows are still in the file.
func TestExpiredRecordsAreAbsent(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, sqlitestore.WithCleanupInterval(-1))
	past, future := time.Now().Add(-time.Second), time.Now().Add(time.Minute)
	require.NoError(t, s.Set(ctx, "dead", []byte("x"), past))
	v, err := s.SetVersion(ctx, "dead2", []byte("x"), past, 0)
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "live", []byte("y"), future))
	require.NoError(t, s.AddOwner(ctx, "ann", "dead", past))
	require.NoError(t, s.AddOwner(ctx, "ann", "live", future))
	require.Equal(t, 3, countRows(t, s.DB(), s.Table()), "the expired rows should still be in the table")

	_, err = s.Get(ctx, "dead")
	assert.ErrorIs(t, err, session.ErrNotFound)
	_, _, err = s.GetVersion(ctx, "dead2")
	assert.ErrorIs(t, err, session.ErrNotFound)
	assert.ErrorIs(t, setVersion(s, "dead2", []byte("z"), future, v), session.ErrConflict,
		"a compare-and-swap matched an expired record")
	assert.ErrorIs(t, setVersion(s, "dead2", nil, future, v), session.ErrConflict,
		"a conditional delete matched an expired record")
	require.NoError(t, setVersion(s, "dead2", nil, future, 0), "conditional delete at 0 over an expired record")

	var keys []string
	require.NoError(t, s.Range(ctx, func(k string, _ []byte, _ uint64) error { keys = append(keys, k); return nil }))
	assert.Equal(t, []string{"live"}, keys)
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	owned, err := s.Owned(ctx, "ann")
	require.NoError(t, err)
	assert.Equal(t, []string{"live"}, owned)

	// An expired record is taken over by a create.
	v2, err := s.SetVersion(ctx, "dead", []byte("new"), future, 0)
	require.NoError(t, err)
	got, v3, err := s.GetVersion(ctx, "dead")
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	assert.Equal(t, v2, v3)
}

func TestOwnerIndex(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	soon, later := time.Now().Add(time.Minute), time.Now().Add(time.Hour)
	owned := func(owner string) []string {
		t.Helper()
		keys, err := s.Owned(ctx, owner)
		require.NoError(t, err)
		slices.Sort(keys)
		return keys
	}
	assert.Empty(t, owned("ann"))
	require.NoError(t, s.AddOwner(ctx, "ann", "k1", soon))
	require.NoError(t, s.AddOwner(ctx, "ann", "k2", soon))
	require.NoError(t, s.AddOwner(ctx, "bob", "k3", soon))
	assert.Equal(t, []string{"k1", "k2"}, owned("ann"))
	assert.Equal(t, []string{"k3"}, owned("bob"))

	// An entry keeps its latest expiry: re-adding with an earlier one
	// does not shorten it.
	require.NoError(t, s.AddOwner(ctx, "ann", "k1", later))
	require.NoError(t, s.AddOwner(ctx, "ann", "k1", time.Now().Add(-time.Hour)))
	assert.Equal(t, []string{"k1", "k2"}, owned("ann"))

	require.NoError(t, s.RemoveOwner(ctx, "ann", "k1", "never-there"))
	require.NoError(t, s.RemoveOwner(ctx, "ann"))
	require.NoError(t, s.RemoveOwner(ctx, "nobody", "k3"))
	assert.Equal(t, []string{"k2"}, owned("ann"))
	assert.Equal(t, []string{"k3"}, owned("bob"), "RemoveOwner of another owner forgot bob's key")

	// More keys than one statement names.
	var many []string
	for i := range 1234 {
		k := fmt.Sprintf("m%04d", i)
		many = append(many, k)
		require.NoError(t, s.AddOwner(ctx, "carol", k, soon))
	}
	assert.Len(t, owned("carol"), 1234)
	require.NoError(t, s.RemoveOwner(ctx, "carol", many[:1200]...))
	assert.Equal(t, many[1200:], owned("carol"))
}

// TestRangePages lists more records than a page holds, large ones that
// fill the byte bound early, and records written during the listing:
// every record live throughout is visited exactly once, in key order.
func TestRangePages(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	exp := time.Now().Add(time.Minute)
	want := map[string][]byte{}
	for i := range 700 {
		k := fmt.Sprintf("k%04d", i)
		data := []byte(k)
		if i%100 == 7 {
			data = bytes.Repeat([]byte{byte(i)}, 1<<20) // 1 MiB
		}
		require.NoError(t, s.Set(ctx, k, data, exp))
		want[k] = data
	}
	got := map[string][]byte{}
	var order []string
	err := s.Range(ctx, func(k string, d []byte, v uint64) error {
		if _, dup := got[k]; dup {
			return fmt.Errorf("key %s visited twice", k)
		}
		got[k] = bytes.Clone(d)
		order = append(order, k)
		if v == 0 {
			return errors.New("version 0")
		}
		// Writes during the listing need no lock the listing holds.
		if len(order)%100 == 0 {
			if err := s.Set(ctx, "new"+k, []byte("x"), exp); err != nil {
				return err
			}
			if err := s.Delete(ctx, "new"+k); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for k, d := range want {
		require.True(t, bytes.Equal(d, got[k]), "record %s differs", k)
	}
	assert.True(t, slices.IsSorted(order))
}

func TestRangeFailsRatherThanStopsShort(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 600 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("k%04d", i), []byte("v"), time.Now().Add(time.Minute)))
	}
	// The context ends after the first page: Range must say so.
	cctx, cancel := context.WithCancel(ctx)
	n := 0
	err := s.Range(cctx, func(string, []byte, uint64) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	require.Error(t, err, "Range visited %d of 600 records and returned nil", n)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, n, 600)
}

// TestOneStatementPerCall counts the statements the store sends, on a
// *sql.DB of the test's own given to New.
func TestOneStatementPerCall(t *testing.T) {
	ctx := context.Background()
	cc := newCountConnector(t, "file:"+dbPath(t)+"?_busy_timeout=5000")
	db := sql.OpenDB(cc)
	t.Cleanup(func() { db.Close() })
	s, err := sqlitestore.New(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, storetest.OneStatementEach(ctx, s, cc.n.Load))
}

func TestNew(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)

	// Settings of connections New did not open are refused, not ignored.
	db := rawDB(t, path)
	for _, opt := range []sqlitestore.Option{
		sqlitestore.WithBusyTimeout(time.Second), sqlitestore.WithSynchronous(sqlitestore.SynchronousFull),
	} {
		_, err := sqlitestore.New(ctx, db, opt)
		assert.ErrorContains(t, err, "DSN")
	}
	_, err := sqlitestore.New(ctx, nil)
	assert.Error(t, err)

	// No busy timeout: refused with the remedy.
	noBusy, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer noBusy.Close()
	_, err = sqlitestore.New(ctx, noBusy)
	assert.ErrorContains(t, err, "_busy_timeout")

	// An in-memory database cannot be shared by connections.
	mem, err := sql.Open("sqlite", "file::memory:?_busy_timeout=1000")
	require.NoError(t, err)
	defer mem.Close()
	_, err = sqlitestore.New(ctx, mem)
	assert.ErrorContains(t, err, "WAL")

	// Close leaves the caller's *sql.DB open.
	s, err := sqlitestore.New(ctx, db, sqlitestore.WithTable("mine"))
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", []byte("v"), time.Now().Add(time.Minute)))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	assert.Equal(t, 1, countRows(t, db, "mine"), "the caller's *sql.DB was closed")
	_, err = s.Get(ctx, "k")
	assert.Error(t, err, "a closed Store still answers")
}

// TestIncompatibleTable opens a file where a table of the store's name
// already exists with another shape: Open refuses it, and leaves it as it
// was.
func TestIncompatibleTable(t *testing.T) {
	ctx := context.Background()
	for name, ddl := range map[string]string{
		"another program's table": `CREATE TABLE "%s" (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)`,
		"versions reused":         `CREATE TABLE "%s" (version INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, data BLOB NOT NULL, expires_at INTEGER NOT NULL)`,
		"key not unique":          `CREATE TABLE "%s" (version INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, data BLOB NOT NULL, expires_at INTEGER NOT NULL)`,
		"no expiry":               `CREATE TABLE "%s" (version INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, data BLOB NOT NULL)`,
	} {
		path := dbPath(t)
		db := rawDB(t, path)
		_, err := db.Exec(fmt.Sprintf(ddl, sqlitestore.DefaultTable))
		require.NoError(t, err)
		_, err = sqlitestore.Open(ctx, path)
		require.ErrorIs(t, err, sqlitestore.ErrIncompatibleTable, name)
		assert.ErrorContains(t, err, path, name)
		var tables int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(&tables))
		assert.Equal(t, 1, tables, "%s: the refused Open left tables behind", name)
	}
}

// TestConcurrentOpen starts stores on one new file at once, as processes
// starting together do: the schema is created once, without errors.
func TestConcurrentOpen(t *testing.T) {
	path := dbPath(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			s, err := sqlitestore.Open(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestDeleteExpired(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, sqlitestore.WithCleanupInterval(-1), sqlitestore.WithCleanupBatch(100))
	plantExpired(t, s.DB(), s.Table(), 250)
	require.NoError(t, s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute)))
	require.NoError(t, s.AddOwner(ctx, "ann", "live", time.Now().Add(time.Minute)))
	n, err := s.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(250), n)
	assert.Equal(t, 1, countRows(t, s.DB(), s.Table()))
	assert.Equal(t, 1, countRows(t, s.DB(), s.Table()+"_owners"), "expired owner entries were kept")
	n, err = s.DeleteExpired(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.DeleteExpired(cctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestCleanupLoopDeletesExpiredRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, sqlitestore.WithCleanupInterval(30*time.Millisecond), sqlitestore.WithCleanupBatch(100),
		sqlitestore.WithLogger(testLogger(t)))
	plantExpired(t, s.DB(), s.Table(), 250)
	require.NoError(t, s.Set(ctx, "live", []byte("v"), time.Now().Add(time.Minute)))
	require.Eventually(t, func() bool {
		return countRows(t, s.DB(), s.Table()) == 1 && countRows(t, s.DB(), s.Table()+"_owners") == 0
	}, 30*time.Second, 20*time.Millisecond, "the cleanup loop did not delete the expired rows") // a liveness bound
	_, err := s.Get(ctx, "live")
	require.NoError(t, err, "the cleanup removed a live row")
}

// TestCloseStopsTheCleanup closes a store in the middle of a slow sweep:
// Close returns promptly, and no row is deleted after it returned.
func TestCloseStopsTheCleanup(t *testing.T) {
	const planted = 5000
	path := dbPath(t)
	require.NoError(t, openStore(t, path).Close()) // creates the tables
	raw := rawDB(t, path)
	plantExpired(t, raw, sqlitestore.DefaultTable, planted)
	s := openStore(t, path, sqlitestore.WithCleanupInterval(20*time.Millisecond), sqlitestore.WithCleanupBatch(10),
		sqlitestore.WithLogger(testLogger(t)))
	require.Eventually(t, func() bool { return countRows(t, raw, s.Table()) < planted }, 30*time.Second, 5*time.Millisecond,
		"the sweep did not start")
	start := time.Now()
	require.NoError(t, s.Close())
	took := time.Since(start)
	assert.Less(t, took, 2*time.Second, "Close waited for the whole sweep")
	left := countRows(t, raw, s.Table())
	require.Positive(t, left, "the sweep finished before Close: make it slower")
	time.Sleep(300 * time.Millisecond) // 15 cleanup intervals
	assert.Equal(t, left, countRows(t, raw, s.Table()), "rows were deleted after Close returned")
	require.NoError(t, s.Close(), "a second Close")
	_, err := s.Get(context.Background(), "k")
	assert.Error(t, err, "a closed Store still answers")
}

// TestManagerConcurrentWriters runs requests on one session from several
// goroutines, each setting keys of its own: every key must persist.
func TestManagerConcurrentWriters(t *testing.T) {
	m, err := session.NewManager(session.WithStore(newStore(t)))
	require.NoError(t, err)
	require.NoError(t, storetest.ConcurrentWriters(m, 8, 3))
}
