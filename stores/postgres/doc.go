// Package pgstore keeps sessionkit sessions in a PostgreSQL table, through
// a pgx v5 connection pool.
//
// A [Store] is a session.VersionedStore, so concurrent requests on one
// session never lose each other's changes, and also a session.Lister.
// Every Get, GetVersion, Set,
// SetVersion and Delete is a single SQL statement: one round trip (the
// first use of a statement on a pooled connection also prepares it).
//
// # Usage
//
//	store, err := pgstore.Open(ctx, "postgres://app@db:5432/app", pgstore.WithCreateTable())
//	if err != nil { ... }
//	defer store.Close()
//	m, err := session.NewManager(session.WithStore(store))
//
// With a pool the application already has, use [New]; Close then leaves
// the pool open.
//
// # Schema
//
// With WithCreateTable, New runs exactly this SQL (shown for the
// default table name, see [SchemaSQL] for another) in one transaction,
// under an advisory lock so that instances starting together do not race:
//
//	CREATE TABLE IF NOT EXISTS "sessionkit_sessions" (
//		key        text        PRIMARY KEY,
//		data       bytea       NOT NULL,
//		version    bigint      GENERATED ALWAYS AS IDENTITY,
//		expires_at timestamptz NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS "sessionkit_sessions_expires_at_idx" ON "sessionkit_sessions" (expires_at);
//	CREATE TABLE IF NOT EXISTS "sessionkit_sessions_owners" (
//		owner      text        NOT NULL,
//		key        text        NOT NULL,
//		expires_at timestamptz NOT NULL,
//		PRIMARY KEY (owner, key)
//	);
//	CREATE INDEX IF NOT EXISTS "sessionkit_sessions_owners_exp" ON "sessionkit_sessions_owners" (expires_at);
//
// If you run your own migrations, run that SQL from them and leave
// CreateTable false; New then checks that the table is there and fails
// with [ErrNoTable] if not. The store never changes the schema otherwise.
// New also refuses, with ErrNoTable and a message saying what to change, a
// table whose shape would break the compare-and-swap or stop writes: key
// text, data bytea, version bigint and expires_at timestamptz, all NOT
// NULL; version drawn from an ascending bigint sequence of positive values
// that neither cycles nor has a MAXVALUE (an identity column, or a DEFAULT
// of exactly nextval, as bigserial makes); a unique index on key alone
// (PRIMARY KEY or UNIQUE, not partial, not on an expression, not
// deferrable); any other column nullable or with a DEFAULT. These checks
// read the catalog of PostgreSQL 12 or later.
// Keys are the Manager's fingerprints (SHA-256 based), never raw session
// IDs; data is the encoded record.
//
// # Versions
//
// The version column is an identity column and every write sets it with
// "version = DEFAULT", which draws the next value of its sequence. A
// sequence never hands out a value twice, not even across rolled-back
// transactions, so a version never repeats for a key, also when the key is
// deleted and created again: a request holding a version read before a
// logout can never overwrite the recreated session. (Random 63-bit
// versions would make a repeat merely unlikely; the sequence makes it
// impossible, costs nothing measurable, and its 2^63 values outlast any
// deployment.) SetVersion with version 0 is an INSERT ... ON CONFLICT DO
// UPDATE that only takes over an expired row; any other version is an
// UPDATE ... WHERE version = $n. A statement that affects no row returns
// session.ErrConflict, and PostgreSQL re-checks the WHERE clause against
// the newest row when two writers race, so exactly one of them wins.
//
// # Expiry and clocks
//
// The expiry the Manager passes is stored in expires_at, and every test of
// it (reads, the CAS conditions, counting, cleanup) compares it with the
// database clock, now(). One clock for all application instances means
// they always agree whether a row is live, which matters most for the
// "create over an expired row" case; the Go clock is only used to compute
// the expiry itself. Skew between the application hosts and the database
// therefore shifts the store's expiry by the skew; the Manager still
// enforces session lifetimes with its own clock on load, so a row kept a
// little longer is never accepted past its deadline. Keep clocks in sync
// with NTP as usual.
//
// Expired rows are never returned. A background goroutine deletes them
// every WithCleanupInterval (10 minutes by default), in batches of
// WithCleanupBatch rows, each its own short statement, skipping rows
// other transactions hold locked; several instances can run it at once.
// [Store.DeleteExpired] runs a sweep on demand.
//
// # Performance
//
// A request that only reads its session costs one SELECT by primary key;
// one that changes it costs that SELECT and one UPDATE, whose time is
// mostly PostgreSQL flushing its write-ahead log at commit (a few
// milliseconds on ordinary disks). Sessions can usually afford to lose
// the last fraction of a second of writes if the database crashes
// (PostgreSQL never half-applies them), so a pool dedicated to sessions
// may set synchronous_commit=off, for instance with
// "?synchronous_commit=off" in the URL given to Open: in this package's
// benchmarks that made writing commits about seven times faster. Behind
// PgBouncer in transaction mode, either use PgBouncer 1.21 or later with
// max_prepared_statements set, or add "default_query_exec_mode=exec" to
// the URL.
//
// # Failures
//
// Every call honours its context: when the database is down or
// unreachable, calls fail by the request's deadline with an error the
// Manager wraps in session.ErrStore; nothing panics. Nothing has to be
// restarted when the database returns: the pool discards broken
// connections (a pooled connection cut while idle fails one call, or is
// caught by pgxpool's liveness ping when it has been idle for over a
// second) and dials new ones. The table name is validated and quoted, so
// it can never inject SQL.
package pgstore
