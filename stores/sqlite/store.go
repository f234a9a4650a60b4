package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of Open and New, which also wrap the driver's error.
var (
	// ErrNotDatabase means the file exists but is not a SQLite database
	// (or is encrypted). The store leaves it untouched.
	ErrNotDatabase = errors.New("sqlitestore: not a SQLite database")

	// ErrReadOnly means the database cannot be written: the file or its
	// directory is read-only to this process, or the *sql.DB given to New
	// was opened read-only. A session store must write, so this fails at
	// open rather than at the first login.
	ErrReadOnly = errors.New("sqlitestore: the database is read-only")

	// ErrIncompatibleTable means a table of the configured name exists
	// with another shape than SchemaSQL's, perhaps another program's.
	ErrIncompatibleTable = errors.New("sqlitestore: table exists with an incompatible schema")
)

// Range reads rows in pages, each page its own short read, so that fn
// runs with no transaction open and memory stays bounded whatever the
// size of the records.
const (
	pageRows  = 256
	pageBytes = 4 << 20
)

// removeChunk bounds the keys one RemoveOwner statement names, well under
// SQLite's limit on bound parameters.
const removeChunk = 500

// Store is a session.VersionedStore in a SQLite database file. It also
// implements session.Lister and session.OwnerIndex, and offers Len, Clear
// and DeleteExpired. It is safe for concurrent use, and several processes
// may share one file. Create it with Open or New and call Close when done.
type Store struct {
	db     *sql.DB
	ownDB  bool
	name   string // the database file, for messages
	table  string
	batch  int
	logger *slog.Logger

	// wlock lets one write of this Store at a time reach SQLite, which
	// allows one writer per database anyway: writers queue here in order
	// and honour their context, instead of polling SQLite's lock with
	// sleeps (the busy handler), which is slow and unfair under load.
	// Writers in other processes still meet at SQLite's lock.
	wlock chan struct{}

	stGet, stCreate, stUpdate, stUpsert *sql.Stmt
	stDelete, stDeleteVersion, stLive   *sql.Stmt
	stFirstPage, stNextPage, stLen      *sql.Stmt
	stCleanup, stOwnersCleanup          *sql.Stmt
	stAddOwner, stOwned                 *sql.Stmt
	qRemoveOwner                        string // + placeholders
	qClear, qOwnersClear                string

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating it if needed) the SQLite database file at path and
// returns a Store on connections it owns: Close closes them. path is a
// file name such as "sessions.db" or "/var/lib/app/sessions.db", not a
// URI. ctx bounds the opening and the table setup only.
//
// Open switches the database to WAL mode, gives every connection the busy
// timeout and synchronous setting of the options, and creates the tables
// if they are missing. A file that is not a SQLite database fails with
// ErrNotDatabase and one this process cannot write with ErrReadOnly.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	dsn, err := dsnFor(path, cfg)
	if err != nil {
		return nil, err
	}
	conn, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	db := sql.OpenDB(conn)
	// One connection writes at a time (wlock); the others read
	// concurrently, which WAL allows. The driver is pure Go and CPU-bound,
	// so more readers than cores buy little; idle connections are kept
	// because opening one re-reads the schema.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	s, err := newStore(ctx, db, cfg, path, false)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// New returns a Store on db, a database opened with the modernc.org/sqlite
// driver, for an application that opens its database itself. Close then
// leaves db open. ctx bounds the setup only.
//
// The connections of db keep their own settings, so New refuses
// WithBusyTimeout and WithSynchronous: open db with them in its DSN, for
// instance "file:sessions.db?_busy_timeout=5000&_synchronous=NORMAL".
// New checks that a connection has a busy timeout, switches the database
// to WAL mode and creates the tables if they are missing.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: New with a nil *sql.DB")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.connOption != "" {
		return nil, fmt.Errorf("sqlitestore: %s configures the connections Open makes; New cannot change the connections of your *sql.DB, so set it in their DSN (_busy_timeout, _synchronous) instead", cfg.connOption)
	}
	return newStore(ctx, db, cfg, "", true)
}

// dsnFor turns path into the driver's URI with the connection settings.
// A URI rather than a plain name, so that a '?' or '#' in the path is
// taken literally.
func dsnFor(path string, cfg *config) (string, error) {
	switch {
	case path == "":
		return "", errors.New("sqlitestore: Open with an empty path")
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("sqlitestore: Open(%q): give the path of a database file (an in-memory database is private to each connection; for URI parameters, open the *sql.DB yourself and use New)", path)
	}
	p := filepath.ToSlash(filepath.Clean(path))
	if vol := filepath.VolumeName(path); vol != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p // file:/C:/dir/x.db
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/:", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	fmt.Fprintf(&b, "?_busy_timeout=%d&_synchronous=%s", cfg.busyTimeout.Milliseconds(), cfg.sync.pragma())
	return b.String(), nil
}

// newStore sets the database up, prepares the statements and starts the
// cleanup.
func newStore(ctx context.Context, db *sql.DB, cfg *config, name string, checkBusy bool) (*Store, error) {
	s := &Store{db: db, name: name, table: cfg.table, batch: cfg.cleanupBatch, logger: cfg.logger,
		wlock: make(chan struct{}, 1)}
	if err := s.setup(ctx, checkBusy); err != nil {
		return nil, err
	}
	// Prepared once the setup connection is back in the pool, which may
	// hold only one.
	if err := s.prepare(ctx); err != nil {
		s.closeStmts()
		return nil, err
	}

	s.done = make(chan struct{})
	if cfg.cleanupInterval > 0 {
		cctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		go s.cleanupLoop(cctx, cfg.cleanupInterval)
	} else {
		s.stop = func() {}
		close(s.done)
	}
	return s, nil
}

// setup checks the database on one connection, switches it to WAL mode
// and creates the tables. checkBusy insists on a busy timeout (New:
// connections the store did not configure).
func (s *Store) setup(ctx context.Context, checkBusy bool) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.openErr(err)
	}
	defer conn.Close()
	if s.name == "" {
		// For messages only: New does not know the file name.
		if conn.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&s.name) != nil || s.name == "" {
			s.name = "the database"
		}
	}
	if checkBusy {
		var ms int64
		if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&ms); err != nil {
			return s.openErr(err)
		}
		if ms <= 0 {
			return fmt.Errorf("sqlitestore: %s: the connections of the *sql.DB have no busy timeout, so a write would fail at once while another process writes: open it with _busy_timeout=5000 (milliseconds) in the DSN, or use Open", s.name)
		}
	}
	// WAL lets readers run while one connection writes, and is a property
	// of the file, so setting it once covers every connection and
	// process. It reads the file header: a file that is not a database
	// fails here.
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return s.openErr(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlitestore: %s: journal mode is %q, not WAL: the store needs a database file, which several connections can share (an in-memory database cannot)", s.name, mode)
	}
	return s.createSchema(ctx, conn)
}

// openErr explains the failures the operator can fix by name.
func (s *Store) openErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %s holds something else (or is encrypted); it was left untouched: %w", ErrNotDatabase, s.name, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w: %s: this process cannot write the file or create its -wal and -shm files beside it (check the permissions of the file and its directory): %w", ErrReadOnly, s.name, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("sqlitestore: cannot open %s (does its directory exist, and may this process create files there?): %w", s.name, err)
		case sqlite3.SQLITE_BUSY:
			return fmt.Errorf("sqlitestore: %s stayed locked by another connection beyond the busy timeout: %w", s.name, err)
		}
	}
	return fmt.Errorf("sqlitestore: open %s: %w", s.name, err)
}

// schemaTables and schemaIndexes are SchemaSQL in two parts: the store
// checks existing tables between them, so that an incompatible table is
// reported as such rather than as a failing CREATE INDEX.
func schemaTables(t string) string {
	return `CREATE TABLE IF NOT EXISTS "` + t + `" (
	version    INTEGER PRIMARY KEY AUTOINCREMENT,
	key        TEXT    NOT NULL UNIQUE,
	data       BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS "` + t + `_owners" (
	owner      TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (owner, key)
) STRICT, WITHOUT ROWID;
`
}

func schemaIndexes(t string) string {
	return `CREATE INDEX IF NOT EXISTS "` + t + `_expires_at_idx" ON "` + t + `" (expires_at);
CREATE INDEX IF NOT EXISTS "` + t + `_owners_expires_at_idx" ON "` + t + `_owners" (expires_at);
`
}

// SchemaSQL returns the SQL that Open and New run to create the tables
// named after table (DefaultTable when empty): the session table and its
// owner index.
func SchemaSQL(table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	if err := validTable(table); err != nil {
		return "", err
	}
	return schemaTables(table) + schemaIndexes(table), nil
}

// createSchema creates what is missing in one IMMEDIATE transaction,
// which takes the write lock first: processes starting together take
// turns, and a read-only database fails here, at open.
func (s *Store) createSchema(ctx context.Context, conn *sql.Conn) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return s.openErr(err)
	}
	defer func() {
		if err != nil {
			// A failed statement may have ended the transaction already.
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, schemaTables(s.table)); err != nil {
		return s.openErr(err)
	}
	if err := s.checkSchema(ctx, conn); err != nil {
		return err
	}
	// In WAL mode BEGIN IMMEDIATE succeeds on a file this process cannot
	// write; a write that changes nothing does not.
	if _, err := conn.ExecContext(ctx, `UPDATE "`+s.table+`" SET key = key WHERE 0`); err != nil {
		return s.openErr(err)
	}
	if _, err := conn.ExecContext(ctx, schemaIndexes(s.table)); err != nil {
		return s.openErr(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return s.openErr(err)
	}
	return nil
}

// checkSchema makes sure existing tables have what the statements rely
// on: versions drawn by AUTOINCREMENT (never reused, see the package
// doc) and a unique key, which INSERT OR REPLACE needs to replace rather
// than duplicate a record.
func (s *Store) checkSchema(ctx context.Context, conn *sql.Conn) error {
	t := s.table
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s in %s: %s (compare it with sqlitestore.SchemaSQL)",
			ErrIncompatibleTable, t, s.name, fmt.Sprintf(format, args...))
	}
	if _, err := conn.ExecContext(ctx, `SELECT version, key, data, expires_at FROM "`+t+`" WHERE 0`); err != nil {
		return bad("%v", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT owner, key, expires_at FROM "`+t+`_owners" WHERE 0`); err != nil {
		return bad("%v", err)
	}
	var ddl string
	var pk, uniqueKey int
	err := conn.QueryRowContext(ctx, `SELECT
		(SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1),
		(SELECT pk FROM pragma_table_info(?1) WHERE name = 'version'),
		(SELECT count(*) FROM pragma_index_list(?1) AS l
			WHERE l."unique" AND (SELECT group_concat(name) FROM pragma_index_info(l.name)) = 'key')`,
		t).Scan(&ddl, &pk, &uniqueKey)
	if err != nil {
		return s.openErr(err)
	}
	if pk != 1 || !strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
		return bad("column version must be INTEGER PRIMARY KEY AUTOINCREMENT, so that versions are never reused")
	}
	if uniqueKey == 0 {
		return bad("column key must be UNIQUE")
	}
	return nil
}

// prepare builds every statement. Each one is a single statement, run in
// SQLite's autocommit mode: a write is its own transaction. Expiry is
// compared with the host's clock, passed as a parameter (milliseconds
// since the Unix epoch): processes sharing a file share a host, and so a
// clock.
func (s *Store) prepare(ctx context.Context) error {
	t := `"` + s.table + `"`
	o := `"` + s.table + `_owners"`
	// INSERT OR REPLACE deletes the row holding the key, if any, and
	// inserts a new one, whose version AUTOINCREMENT draws above every
	// version the table ever held. The WHERE clause is the compare of the
	// compare-and-swap; SQLite runs a write statement under the database's
	// write lock from its first step, so nothing can slip in between.
	stmts := []struct {
		st **sql.Stmt
		q  string
	}{
		{&s.stGet, "SELECT data, version FROM " + t + " WHERE key = ?1 AND expires_at > ?2"},
		// Create: only if no live row holds the key (an expired one is
		// taken over).
		{&s.stCreate, "INSERT OR REPLACE INTO " + t + " (key, data, expires_at) SELECT ?1, ?2, ?3" +
			" WHERE NOT EXISTS (SELECT 1 FROM " + t + " WHERE key = ?1 AND expires_at > ?4) RETURNING version"},
		// Update: only the live row at the caller's version.
		{&s.stUpdate, "INSERT OR REPLACE INTO " + t + " (key, data, expires_at) SELECT ?1, ?2, ?3" +
			" WHERE EXISTS (SELECT 1 FROM " + t + " WHERE key = ?1 AND version = ?4 AND expires_at > ?5) RETURNING version"},
		{&s.stUpsert, "INSERT OR REPLACE INTO " + t + " (key, data, expires_at) VALUES (?1, ?2, ?3)"},
		{&s.stDelete, "DELETE FROM " + t + " WHERE key = ?1"},
		{&s.stDeleteVersion, "DELETE FROM " + t + " WHERE key = ?1 AND version = ?2 AND expires_at > ?3"},
		{&s.stLive, "SELECT EXISTS (SELECT 1 FROM " + t + " WHERE key = ?1 AND expires_at > ?2)"},
		{&s.stFirstPage, "SELECT key, data, version FROM " + t + " WHERE key >= '' AND expires_at > ?1 ORDER BY key LIMIT ?2"},
		{&s.stNextPage, "SELECT key, data, version FROM " + t + " WHERE key > ?3 AND expires_at > ?1 ORDER BY key LIMIT ?2"},
		{&s.stLen, "SELECT count(*) FROM " + t + " WHERE expires_at > ?1"},
		// Cleanup: a batch of expired rows found through the expiry
		// index; the statement rechecks nothing, since SQLite runs it as
		// one write and no row can come back to life meanwhile.
		{&s.stCleanup, "DELETE FROM " + t + " WHERE version IN (SELECT version FROM " + t +
			" WHERE expires_at <= ?1 LIMIT ?2)"},
		{&s.stOwnersCleanup, "DELETE FROM " + o + " WHERE (owner, key) IN (SELECT owner, key FROM " + o +
			" WHERE expires_at <= ?1 LIMIT ?2)"},
		// An owner entry lasts as long as the longest expiry it was given.
		{&s.stAddOwner, "INSERT INTO " + o + " (owner, key, expires_at) VALUES (?1, ?2, ?3)" +
			" ON CONFLICT (owner, key) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)"},
		{&s.stOwned, "SELECT key FROM " + o + " WHERE owner = ?1 AND expires_at > ?2"},
	}
	for _, st := range stmts {
		p, err := s.db.PrepareContext(ctx, st.q)
		if err != nil {
			return s.openErr(err)
		}
		*st.st = p
	}
	s.qRemoveOwner = "DELETE FROM " + o + " WHERE owner = ? AND key IN "
	s.qClear = "DELETE FROM " + t
	s.qOwnersClear = "DELETE FROM " + o
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{s.stGet, s.stCreate, s.stUpdate, s.stUpsert, s.stDelete, s.stDeleteVersion,
		s.stLive, s.stFirstPage, s.stNextPage, s.stLen, s.stCleanup, s.stOwnersCleanup, s.stAddOwner, s.stOwned} {
		if st != nil {
			st.Close()
		}
	}
}

// nowMillis is the clock every expiry is compared with.
func nowMillis() int64 { return time.Now().UnixMilli() }

// lockWrite waits for this Store's turn to write, or for ctx to end.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.wlock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrite() { <-s.wlock }

// Table returns the name of the session table.
func (s *Store) Table() string { return s.table }

// DB returns the database the store uses.
func (s *Store) DB() *sql.DB { return s.db }

// Get implements session.Store. It returns session.ErrNotFound for a
// missing or expired record.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, _, err := s.get(ctx, key, "get")
	return data, err
}

// GetVersion implements session.VersionedStore with one SELECT.
func (s *Store) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	return s.get(ctx, key, "get version")
}

func (s *Store) get(ctx context.Context, key, op string) ([]byte, uint64, error) {
	var (
		data []byte
		ver  int64
	)
	err := s.stGet.QueryRowContext(ctx, key, nowMillis()).Scan(&data, &ver)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, session.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return data, uint64(ver), nil
}

// Set implements session.Store: it writes data under key until expiry,
// whatever is stored there, with a new version. Empty data deletes the
// record.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if len(data) == 0 {
		return s.Delete(ctx, key)
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: set: %w", err)
	}
	defer s.unlockWrite()
	if _, err := s.stUpsert.ExecContext(ctx, key, data, expiry.UnixMilli()); err != nil {
		return fmt.Errorf("sqlitestore: set: %w", err)
	}
	return nil
}

// SetVersion implements session.VersionedStore with one statement that
// writes only if no live record holds key (version 0) or the live record
// is at version. It returns session.ErrConflict otherwise. Empty data
// deletes the record under the same condition.
func (s *Store) SetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error) {
	if version > math.MaxInt64 {
		return 0, session.ErrConflict // never handed out
	}
	if len(data) == 0 {
		return 0, s.deleteVersion(ctx, key, version)
	}
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("sqlitestore: set version: %w", err)
	}
	defer s.unlockWrite()
	var row *sql.Row
	if version == 0 {
		row = s.stCreate.QueryRowContext(ctx, key, data, expiry.UnixMilli(), nowMillis())
	} else {
		row = s.stUpdate.QueryRowContext(ctx, key, data, expiry.UnixMilli(), int64(version), nowMillis())
	}
	var ver int64
	err := row.Scan(&ver)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, session.ErrConflict
	}
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: set version: %w", err)
	}
	return uint64(ver), nil
}

func (s *Store) deleteVersion(ctx context.Context, key string, version uint64) error {
	if version == 0 {
		// Nothing to delete, as long as nothing live is there.
		var live bool
		if err := s.stLive.QueryRowContext(ctx, key, nowMillis()).Scan(&live); err != nil {
			return fmt.Errorf("sqlitestore: set version: %w", err)
		}
		if live {
			return session.ErrConflict
		}
		return nil
	}
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: set version: %w", err)
	}
	defer s.unlockWrite()
	res, err := s.stDeleteVersion.ExecContext(ctx, key, int64(version), nowMillis())
	if err != nil {
		return fmt.Errorf("sqlitestore: set version: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("sqlitestore: set version: %w", err)
		}
		return session.ErrConflict
	}
	return nil
}

// Delete implements session.Store. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	defer s.unlockWrite()
	if _, err := s.stDelete.ExecContext(ctx, key); err != nil {
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	return nil
}

// Range implements session.Lister: it visits every live record in key
// order, reading a page of rows at a time and calling fn between reads,
// with no transaction open. A record live throughout the call is on some
// page; any failed read ends Range with an error.
func (s *Store) Range(ctx context.Context, fn func(key string, data []byte, version uint64) error) error {
	type rec struct {
		key  string
		data []byte
		ver  int64
	}
	var (
		page  []rec
		after string
	)
	for first := true; ; first = false {
		var (
			rows *sql.Rows
			err  error
		)
		if first {
			rows, err = s.stFirstPage.QueryContext(ctx, nowMillis(), pageRows)
		} else {
			rows, err = s.stNextPage.QueryContext(ctx, nowMillis(), pageRows, after)
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: range: %w", err)
		}
		page = page[:0]
		size, more := 0, false
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.key, &r.data, &r.ver); err != nil {
				rows.Close()
				return fmt.Errorf("sqlitestore: range: %w", err)
			}
			page = append(page, r)
			size += len(r.data)
			if len(page) == pageRows || size >= pageBytes {
				more = true // the rest, if any, comes with the next page
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlitestore: range: %w", err)
		}
		for _, r := range page {
			if err := fn(r.key, r.data, uint64(r.ver)); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = page[len(page)-1].key
	}
}

// AddOwner implements session.OwnerIndex. An entry keeps the latest
// expiry it was given.
func (s *Store) AddOwner(ctx context.Context, owner, key string, expiry time.Time) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: add owner: %w", err)
	}
	defer s.unlockWrite()
	if _, err := s.stAddOwner.ExecContext(ctx, owner, key, expiry.UnixMilli()); err != nil {
		return fmt.Errorf("sqlitestore: add owner: %w", err)
	}
	return nil
}

// Owned implements session.OwnerIndex with one SELECT on the owner's
// entries, whatever the size of the store.
func (s *Store) Owned(ctx context.Context, owner string) ([]string, error) {
	rows, err := s.stOwned.QueryContext(ctx, owner, nowMillis())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: owned: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlitestore: owned: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: owned: %w", err)
	}
	return keys, nil
}

// RemoveOwner implements session.OwnerIndex: one statement per 500 keys.
func (s *Store) RemoveOwner(ctx context.Context, owner string, keys ...string) error {
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), removeChunk)]
		keys = keys[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, k := range chunk {
			args = append(args, k)
		}
		q := s.qRemoveOwner + "(?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := s.write(ctx, "remove owner", q, args...); err != nil {
			return err
		}
	}
	return nil
}

// write runs one unprepared write statement in its turn.
func (s *Store) write(ctx context.Context, op, q string, args ...any) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer s.unlockWrite()
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return nil
}

// Len counts the live records.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int64
	if err := s.stLen.QueryRowContext(ctx, nowMillis()).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: len: %w", err)
	}
	return int(n), nil
}

// Clear deletes every record and the whole owner index, in one statement
// per table; the write lock is held while SQLite empties a table, so keep
// it for tests and administration.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.write(ctx, "clear", s.qClear); err != nil {
		return err
	}
	return s.write(ctx, "clear", s.qOwnersClear)
}

// DeleteExpired deletes every expired record, then every expired entry of
// the owner index, in batches of the cleanup batch size, each its own
// short write transaction, and returns how many records it deleted. After
// each batch it pauses as long as the batch took, so that writers of other
// processes, which poll for SQLite's lock, get their turn too; writers of
// this Store queue ahead of the next batch. The background cleanup calls
// it every cleanup interval; call it yourself when the cleanup is off. It
// stops early, with ctx's error, when ctx ends.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	return s.deleteExpired(ctx, time.Time{})
}

// deleteExpired is DeleteExpired that starts no batch after until, if
// set: the background sweep yields to the next one rather than being
// interrupted, so that a slow batch still makes progress.
func (s *Store) deleteExpired(ctx context.Context, until time.Time) (int64, error) {
	var total int64
	for i, st := range []*sql.Stmt{s.stCleanup, s.stOwnersCleanup} {
		for {
			n, took, err := s.cleanupBatch(ctx, st)
			if err != nil {
				return total, fmt.Errorf("sqlitestore: delete expired: %w", err)
			}
			if i == 0 {
				total += n
			}
			if n < int64(s.batch) {
				break
			}
			if !until.IsZero() && time.Now().After(until) {
				return total, nil
			}
			select {
			case <-time.After(took):
			case <-ctx.Done():
				return total, fmt.Errorf("sqlitestore: delete expired: %w", ctx.Err())
			}
		}
	}
	return total, nil
}

func (s *Store) cleanupBatch(ctx context.Context, st *sql.Stmt) (int64, time.Duration, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, 0, err
	}
	defer s.unlockWrite()
	start := time.Now()
	res, err := st.ExecContext(ctx, nowMillis(), s.batch)
	if err != nil {
		return 0, 0, err
	}
	n, err := res.RowsAffected()
	return n, time.Since(start), err
}

func (s *Store) cleanupLoop(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A sweep starts no batch beyond its interval (the next sweep
		// goes on), so sweeps never pile up; Close cancels ctx, which
		// interrupts the batch in progress.
		n, err := s.deleteExpired(ctx, time.Now().Add(interval))
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("sqlitestore: cleanup of expired sessions failed",
				"db", s.name, "table", s.table, "deleted", n, "err", err)
		}
	}
}

// Close stops the cleanup goroutine and waits for it to finish (a sweep in
// progress is cancelled), then releases the prepared statements. It
// closes the database only when Open opened it; a Store made by New leaves
// your *sql.DB open. Calls after Close fail. Close is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		s.closeStmts()
		if s.ownDB {
			s.closeErr = s.db.Close()
		}
	})
	return s.closeErr
}

// Interface checks.
var (
	_ session.VersionedStore = (*Store)(nil)
	_ session.Lister         = (*Store)(nil)
	_ session.OwnerIndex     = (*Store)(nil)
)
