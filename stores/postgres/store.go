package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	session "github.com/sessionkit/sessionkit/core"
)

// Defaults of the options.
const (
	// DefaultTable is the table used without WithTable.
	DefaultTable = "sessionkit_sessions"

	// DefaultCleanupInterval is how often expired rows are deleted when
	// WithCleanupInterval is not given, as the memory store's reap interval.
	DefaultCleanupInterval = 10 * time.Minute

	// DefaultCleanupBatch is how many expired rows one cleanup statement
	// deletes at most without WithCleanupBatch.
	DefaultCleanupBatch = 1000
)

// maxNameLen bounds each part of a table name, so that the index name
// derived from it ("<name>_expires_at_idx") fits PostgreSQL's 63-byte
// identifier limit instead of being truncated, where two long table names
// could truncate to the same index name.
const maxNameLen = 63 - len("_expires_at_idx")

// ErrNoTable is returned by New and Open when the session table does not
// exist and WithCreateTable was not given, or when its shape cannot keep the
// store's guarantees (see "Schema" in the package doc); the message says
// what to change.
var ErrNoTable = errors.New("pgstore: session table missing or incomplete")

// config is what the options set.
type config struct {
	table       string
	createTable bool
	cleanup     time.Duration
	batch       int
	logger      *slog.Logger
}

// An Option configures a Store in New or Open.
type Option func(*config) error

// WithTable sets the name of the session table, optionally qualified by a
// schema ("app.sessions"); the default is DefaultTable. Each part must be
// a plain identifier: ASCII letters, digits and underscores, not starting
// with a digit, at most 48 bytes. Names are quoted, so case matters. The
// owner index lives in the table of the same name with "_owners" added.
func WithTable(name string) Option {
	return func(c *config) error {
		if _, err := parseTable(name); err != nil {
			return err
		}
		c.table = name
		return nil
	}
}

// WithCreateTable makes New create the tables and their indexes (with IF
// NOT EXISTS, under an advisory lock so that instances starting together
// do not race) by running exactly SchemaSQL. Without it New only checks
// the tables, for when migrations create them.
func WithCreateTable() Option {
	return func(c *config) error { c.createTable = true; return nil }
}

// WithCleanupInterval sets how often a background goroutine deletes
// expired rows; the default is DefaultCleanupInterval. Zero turns the
// cleanup off (expired rows are still never returned), for instance when a
// cron job calls DeleteExpired.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("pgstore: negative cleanup interval %v", d)
		}
		c.cleanup = d
		return nil
	}
}

// WithCleanupBatch sets how many rows one cleanup statement deletes at
// most; the default is DefaultCleanupBatch. Each batch is its own short
// transaction, so the cleanup never holds many row locks for long.
func WithCleanupBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("pgstore: cleanup batch must be positive, got %d", n)
		}
		c.batch = n
		return nil
	}
}

// WithLogger sets where the errors of the background cleanup go, which has
// no caller to return them to; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("pgstore: WithLogger(nil)")
		}
		c.logger = l
		return nil
	}
}

// Store is a session.VersionedStore on a PostgreSQL table. It also
// implements session.Lister and offers Clear and Len. It is
// safe for concurrent use. Create it with New or Open and call Close when
// done.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	table   string // as configured, unquoted
	batch   int
	logger  *slog.Logger

	qGet, qInsert, qUpdate, qUpsert  string
	qDelete, qDeleteVersion, qExists string
	qAddOwner, qOwned, qRemoveOwner  string
	qCleanupOwners, qClearOwners     string
	qClear, qAll, qLen, qCleanup     string

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// connection string, as pgxpool.ParseConfig takes) and returns a Store on
// a pool it owns: Close closes that pool. ctx bounds the connection and
// the table setup only.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New returns a Store that keeps sessions in pool's database. It creates
// the tables with WithCreateTable, otherwise it checks that they exist
// with a shape that keeps the store's guarantees, and starts the cleanup
// goroutine. ctx bounds this setup only. Close does not close pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New with a nil pool")
	}
	c := config{table: DefaultTable, cleanup: DefaultCleanupInterval, batch: DefaultCleanupBatch, logger: slog.Default()}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	ident, err := parseTable(c.table)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, table: c.table, batch: c.batch, logger: c.logger}
	s.prepareSQL(ident.Sanitize(), ownersIdent(ident).Sanitize())

	if c.createTable {
		if err := s.createTable(ctx, ident); err != nil {
			return nil, err
		}
	}
	if err := s.checkTable(ctx, ident); err != nil {
		return nil, err
	}

	s.done = make(chan struct{})
	if c.cleanup > 0 {
		cctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		go s.cleanupLoop(cctx, c.cleanup)
	} else {
		s.stop = func() {}
		close(s.done)
	}
	return s, nil
}

// parseTable validates a table name and splits it into its parts.
func parseTable(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("pgstore: table name %q: want name or schema.name", name)
	}
	for _, p := range parts {
		if !validIdent(p) {
			return nil, fmt.Errorf("pgstore: table name %q: %q is not an identifier of ASCII letters, digits and underscores (at most %d bytes, not starting with a digit)",
				name, p, maxNameLen)
		}
	}
	return pgx.Identifier(parts), nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// SchemaSQL returns the SQL that creates the session table named table
// (DefaultTable when empty) and its index: exactly what New runs when
// WithCreateTable is given. Run it from your migrations otherwise.
func SchemaSQL(table string) (string, error) {
	if table == "" {
		table = DefaultTable
	}
	ident, err := parseTable(table)
	if err != nil {
		return "", err
	}
	return schemaSQL(ident), nil
}

func schemaSQL(ident pgx.Identifier) string {
	t := ident.Sanitize()
	name := ident[len(ident)-1]
	idx := pgx.Identifier{name + "_expires_at_idx"}.Sanitize()
	o := ownersIdent(ident).Sanitize()
	oidx := pgx.Identifier{name + "_owners_exp"}.Sanitize()
	return "CREATE TABLE IF NOT EXISTS " + t + ` (
	key        text        PRIMARY KEY,
	data       bytea       NOT NULL,
	version    bigint      GENERATED ALWAYS AS IDENTITY,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ` + idx + " ON " + t + ` (expires_at);
CREATE TABLE IF NOT EXISTS ` + o + ` (
	owner      text        NOT NULL,
	key        text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (owner, key)
);
CREATE INDEX IF NOT EXISTS ` + oidx + " ON " + o + " (expires_at);\n"
}

// ownersIdent names the owner index table of the session table ident: the
// same name with "_owners" appended, in the same schema.
func ownersIdent(ident pgx.Identifier) pgx.Identifier {
	o := append(pgx.Identifier(nil), ident...)
	o[len(o)-1] += "_owners"
	return o
}

// prepareSQL builds every statement for the quoted table name t. All
// expiry checks use the database clock, now(); see the package doc.
func (s *Store) prepareSQL(t, o string) {
	// Reads: one statement, live rows only.
	s.qGet = "SELECT data, version FROM " + t + " WHERE key = $1 AND expires_at > now()"
	// Create: insert, or take over a row that has expired (it counts as
	// absent). A live row makes the statement affect no row: a conflict.
	// "version = DEFAULT" draws a fresh value from the identity sequence.
	s.qInsert = "INSERT INTO " + t + " AS t (key, data, expires_at) VALUES ($1, $2, $3)" +
		" ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, version = DEFAULT, expires_at = EXCLUDED.expires_at" +
		" WHERE t.expires_at <= now() RETURNING version"
	// Compare-and-swap update of a live row.
	s.qUpdate = "UPDATE " + t + " SET data = $2, version = DEFAULT, expires_at = $3" +
		" WHERE key = $1 AND version = $4 AND expires_at > now() RETURNING version"
	// Unconditional write.
	s.qUpsert = "INSERT INTO " + t + " (key, data, expires_at) VALUES ($1, $2, $3)" +
		" ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, version = DEFAULT, expires_at = EXCLUDED.expires_at"
	s.qDelete = "DELETE FROM " + t + " WHERE key = $1"
	s.qDeleteVersion = "DELETE FROM " + t + " WHERE key = $1 AND version = $2 AND expires_at > now()"
	s.qExists = "SELECT EXISTS (SELECT 1 FROM " + t + " WHERE key = $1 AND expires_at > now())"
	s.qClear = "DELETE FROM " + t
	s.qAll = "SELECT key, data, version FROM " + t + " WHERE expires_at > now()"
	s.qLen = "SELECT count(*) FROM " + t + " WHERE expires_at > now()"
	// Cleanup: lock a batch of expired rows, skipping rows other
	// transactions hold (a request recreating an expired session, another
	// instance's cleanup), and delete them by physical address (a TID
	// scan, no second index lookup). The cleanup therefore never waits
	// for a lock and never holds one beyond its short statement. The outer
	// expiry test guards again against deleting a row that came back to
	// life: PostgreSQL re-evaluates it on the newest row version.
	s.qCleanup = "DELETE FROM " + t + " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " + t +
		" WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)) AND expires_at <= now()"
	// The owner index: one row per (owner, session key), kept until the
	// latest expiry it was given.
	s.qAddOwner = "INSERT INTO " + o + " AS t (owner, key, expires_at) VALUES ($1, $2, $3)" +
		" ON CONFLICT (owner, key) DO UPDATE SET expires_at = GREATEST(t.expires_at, EXCLUDED.expires_at)"
	s.qOwned = "SELECT key FROM " + o + " WHERE owner = $1 AND expires_at > now()"
	s.qRemoveOwner = "DELETE FROM " + o + " WHERE owner = $1 AND key = ANY ($2)"
	s.qCleanupOwners = "DELETE FROM " + o + " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " + o +
		" WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)) AND expires_at <= now()"
	s.qClearOwners = "DELETE FROM " + o
}

// createTable runs the schema SQL in one transaction holding an advisory
// lock derived from the table name: CREATE ... IF NOT EXISTS alone can
// fail with a unique violation when two processes run it at once.
func (s *Store) createTable(ctx context.Context, ident pgx.Identifier) error {
	h := fnv.New64a()
	h.Write([]byte("sessionkit/pgstore:" + ident.Sanitize()))
	lockKey := int64(h.Sum64())
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaSQL(ident))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: create table %s: %w", s.table, err)
	}
	return nil
}

// Table returns the table name the store uses, as configured.
func (s *Store) Table() string { return s.table }

// Pool returns the connection pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Get implements session.Store. It returns session.ErrNotFound for a
// missing or expired row.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, _, err := s.get(ctx, key, "get")
	return data, err
}

// GetVersion implements session.VersionedStore with a single SELECT.
func (s *Store) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	return s.get(ctx, key, "get version")
}

func (s *Store) get(ctx context.Context, key, op string) ([]byte, uint64, error) {
	var (
		data []byte
		ver  int64
	)
	err := s.pool.QueryRow(ctx, s.qGet, key).Scan(&data, &ver)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, 0, session.ErrNotFound
		}
		return nil, 0, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return data, uint64(ver), nil
}

// Set implements session.Store: it writes data under key until expiry,
// whatever is stored there, giving the row a new version. Empty data
// deletes the row.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if len(data) == 0 {
		return s.Delete(ctx, key)
	}
	if _, err := s.pool.Exec(ctx, s.qUpsert, key, data, expiry); err != nil {
		return fmt.Errorf("pgstore: set: %w", err)
	}
	return nil
}

// SetVersion implements session.VersionedStore with a single statement: an
// INSERT that may take over an expired row when version is 0, otherwise
// an UPDATE of the live row holding that version. It returns
// session.ErrConflict when no row qualified. Empty data deletes the row
// under the same condition.
func (s *Store) SetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error) {
	if version > math.MaxInt64 {
		return 0, session.ErrConflict // never handed out by the sequence
	}
	if len(data) == 0 {
		return 0, s.deleteVersion(ctx, key, version)
	}
	var (
		q    string
		args []any
		ver  int64
	)
	if version == 0 {
		q, args = s.qInsert, []any{key, data, expiry}
	} else {
		q, args = s.qUpdate, []any{key, data, expiry, int64(version)}
	}
	err := s.pool.QueryRow(ctx, q, args...).Scan(&ver)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, session.ErrConflict
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: set version: %w", err)
	}
	return uint64(ver), nil
}

func (s *Store) deleteVersion(ctx context.Context, key string, version uint64) error {
	if version == 0 {
		// Nothing to delete, as long as nothing live is there.
		var exists bool
		if err := s.pool.QueryRow(ctx, s.qExists, key).Scan(&exists); err != nil {
			return fmt.Errorf("pgstore: set version: %w", err)
		}
		if exists {
			return session.ErrConflict
		}
		return nil
	}
	tag, err := s.pool.Exec(ctx, s.qDeleteVersion, key, int64(version))
	if err != nil {
		return fmt.Errorf("pgstore: set version: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return session.ErrConflict
	}
	return nil
}

// Delete implements session.Store. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.qDelete, key); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	return nil
}

// Clear deletes every row of the table.
func (s *Store) Clear(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, s.qClear); err != nil {
		return fmt.Errorf("pgstore: clear: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.qClearOwners); err != nil {
		return fmt.Errorf("pgstore: clear: %w", err)
	}
	return nil
}

// AddOwner implements session.OwnerIndex with one INSERT into the owner
// table.
func (s *Store) AddOwner(ctx context.Context, owner, key string, expiry time.Time) error {
	if _, err := s.pool.Exec(ctx, s.qAddOwner, owner, key, expiry); err != nil {
		return fmt.Errorf("pgstore: add owner: %w", err)
	}
	return nil
}

// Owned implements session.OwnerIndex with one SELECT on the owner table's
// primary key.
func (s *Store) Owned(ctx context.Context, owner string) ([]string, error) {
	rows, err := s.pool.Query(ctx, s.qOwned, owner)
	if err != nil {
		return nil, fmt.Errorf("pgstore: owned: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: owned: %w", err)
	}
	return keys, nil
}

// RemoveOwner implements session.OwnerIndex with one DELETE.
func (s *Store) RemoveOwner(ctx context.Context, owner string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, s.qRemoveOwner, owner, keys); err != nil {
		return fmt.Errorf("pgstore: remove owner: %w", err)
	}
	return nil
}

// Range implements session.Lister: it visits every live row, reading the
// whole table in one query; use it for administration only.
func (s *Store) Range(ctx context.Context, fn func(key string, data []byte, version uint64) error) error {
	rows, err := s.pool.Query(ctx, s.qAll)
	if err != nil {
		return fmt.Errorf("pgstore: range: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key  string
			data []byte
			ver  int64
		)
		if err := rows.Scan(&key, &data, &ver); err != nil {
			return fmt.Errorf("pgstore: range: %w", err)
		}
		if err := fn(key, data, uint64(ver)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: range: %w", err)
	}
	return nil
}

// Len counts the live rows.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, s.qLen).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: len: %w", err)
	}
	return int(n), nil
}

// DeleteExpired deletes every expired row now, in batches of
// WithCleanupBatch rows, each its own statement and transaction, and
// returns how many it deleted. The background cleanup calls it every
// CleanupInterval; call it yourself when the cleanup is off. It stops
// early, with ctx's error, when ctx ends.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	total, err := s.deleteExpired(ctx, s.qCleanup)
	if err == nil {
		_, err = s.deleteExpired(ctx, s.qCleanupOwners) // the owner index's rows are not sessions: not counted
	}
	return total, err
}

// deleteExpired runs the batched cleanup statement q until a batch comes
// back short.
func (s *Store) deleteExpired(ctx context.Context, q string) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, q, s.batch)
		if err != nil {
			return total, fmt.Errorf("pgstore: delete expired: %w", err)
		}
		n := tag.RowsAffected()
		total += n
		if n < int64(s.batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("pgstore: delete expired: %w", err)
		}
	}
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
		// A sweep never outlives its interval, so an unreachable database
		// cannot pile sweeps up.
		sctx, cancel := context.WithTimeout(ctx, interval)
		n, err := s.DeleteExpired(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("pgstore: cleanup of expired sessions failed",
				"table", s.table, "deleted", n, "err", err)
		}
	}
}

// Close stops the cleanup goroutine and waits for it to finish (a sweep
// in progress is cancelled). It closes the pool only when Open made it; a
// Store made by New over your pool stays usable. Close is safe to call
// more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		if s.ownPool {
			s.pool.Close()
		}
	})
	return nil
}

// Interface checks.
var (
	_ session.VersionedStore = (*Store)(nil)
	_ session.Lister         = (*Store)(nil)
	_ session.OwnerIndex     = (*Store)(nil)
)
