package sqlitestore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
)

// TestMain runs a helper instead of the tests when a test re-executes this
// binary as a child process (see process_test.go).
func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	os.Exit(m.Run())
}

// dbPath returns the path of a database file in a temporary directory of
// the test's own.
func dbPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "sessions.db")
}

// openStore opens a Store on path, closed at the end of the test.
func openStore(tb testing.TB, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlitestore.Open(ctx, path, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a Store on a fresh file of the test's own.
func newStore(tb testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	tb.Helper()
	return openStore(tb, dbPath(tb), opts...)
}

// rawDB opens a second, independent *sql.DB on path (another program, as
// far as the store can tell), closed at the end of the test.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_busy_timeout=10000")
	require.NoError(tb, err)
	tb.Cleanup(func() { db.Close() })
	return db
}

// countRows counts every row of table, expired or not.
func countRows(tb testing.TB, db *sql.DB, table string) int {
	tb.Helper()
	var n int
	require.NoError(tb, db.QueryRow(`SELECT count(*) FROM "`+table+`"`).Scan(&n))
	return n
}

// plantExpired inserts n expired records (and n expired owner entries)
// straight into the tables, in one transaction, as rows left behind.
func plantExpired(tb testing.TB, db *sql.DB, table string, n int) {
	tb.Helper()
	past := time.Now().Add(-time.Minute).UnixMilli()
	_, err := db.Exec(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?1)
		INSERT INTO "`+table+`" (key, data, expires_at) SELECT 'dead' || i, randomblob(200), ?2 FROM g`, n, past)
	require.NoError(tb, err)
	_, err = db.Exec(`WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?1)
		INSERT INTO "`+table+`_owners" (owner, key, expires_at) SELECT 'ghost', 'dead' || i, ?2 FROM g`, n, past)
	require.NoError(tb, err)
}

// setVersion is SetVersion for tests that only look at the error.
func setVersion(s *sqlitestore.Store, key string, data []byte, exp time.Time, v uint64) error {
	_, err := s.SetVersion(context.Background(), key, data, exp, v)
	return err
}

// countConnector counts the statements sent over the connections it opens:
// each Exec or Query on a connection, prepared or not, is one.
type countConnector struct {
	driver.Connector
	n atomic.Int64
}

func newCountConnector(tb testing.TB, dsn string) *countConnector {
	tb.Helper()
	c, err := sqlite.NewConnector(dsn)
	require.NoError(tb, err)
	return &countConnector{Connector: c}
}

func (c *countConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countConn{conn: conn, n: &c.n}, nil
}

// countConn forwards what the driver's connections implement, as the
// driver's documentation asks of a wrapper, and counts statement runs.
type countConn struct {
	conn driver.Conn
	n    *atomic.Int64
}

func (c *countConn) Unwrap() driver.Conn { return c.conn }
func (c *countConn) Close() error        { return c.conn.Close() }
func (c *countConn) Begin() (driver.Tx, error) {
	return c.conn.Begin() //nolint:staticcheck // required by driver.Conn
}
func (c *countConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, o)
}
func (c *countConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}
func (c *countConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countStmt{Stmt: st, n: c.n}, nil
}
func (c *countConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}
func (c *countConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}
func (c *countConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }
func (c *countConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}
func (c *countConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

type countStmt struct {
	driver.Stmt
	n *atomic.Int64
}

func (s *countStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
