// Package sqlitestore keeps sessionkit sessions in a SQLite database file,
// through the pure-Go driver modernc.org/sqlite: no cgo, no server to run,
// and sessions survive restarts and deploys.
//
// # When to pick it
//
// Pick SQLite for a service that runs on one machine: one process, or a
// few sharing the file. Pick Redis (redisstore) or PostgreSQL (pgstore)
// when several machines serve the same users: SQLite's locks only work
// between processes of one host (never put the file on a network file
// system), and all writes to one file take turns. On a busy, shared
// 2-core machine, a request that reads its session took about 20 µs and
// one that changes it about 150 µs: some 6,000 writes per second, with 1,
// 8 or 64 sessions written at once alike (bench_test.go).
//
// # Usage
//
//	store, err := sqlitestore.Open(ctx, "/var/lib/app/sessions.db")
//	if err != nil { ... }
//	defer store.Close()
//	m, err := session.NewManager(session.WithStore(store))
//
// Open creates the file and its tables if needed; [New] takes a *sql.DB
// you opened. A [Store] is a session.VersionedStore, so concurrent
// requests on one session never lose each other's changes, a
// session.Lister (Manager.DestroyMatching) and a session.OwnerIndex
// (Manager.Sessions, Revoke and RevokeAll). Every Get, GetVersion, Set,
// SetVersion and Delete is one SQL statement, and a write is its own
// transaction.
//
// # Durability: synchronous=NORMAL
//
// Open puts the database in WAL mode with synchronous=NORMAL: a commit
// appends to the write-ahead log without waiting for the disk, which is
// synced at checkpoints. When the process crashes or is killed, nothing it
// acknowledged is lost, since the operating system holds the data; a power
// cut or a crash of the operating system may roll back the commits since
// the last checkpoint (the database stays consistent, and those users sign
// in again). WithSynchronous(SynchronousFull) syncs the log at every
// commit instead, surviving power cuts at the price of an fsync per write:
// 1,000 to 1,500 writes per second instead of 6,000 in the same benchmark.
//
// # Several processes
//
// In WAL mode readers never wait; writers take turns at the file's single
// write lock. Writers of one Store queue in Go, in order. A write waits for
// another process's lock for up to the busy timeout (WithBusyTimeout, 5 s
// by default), or until the request's context ends, then fails with
// "database is locked". Compare-and-swap holds across processes: two
// processes updating one session never lose an update.
//
// # Expiry and cleanup
//
// Expired records are never returned. A background goroutine deletes them
// every WithCleanupInterval (10 minutes) in batches of WithCleanupBatch
// (1000) rows, each followed by an equal pause, so that requests of this
// and other processes get their turns; [Store.DeleteExpired] runs a sweep
// on demand. Versions never repeat for a key (docs/DESIGN.md says how).
//
// # Failures
//
// Open fails with [ErrNotDatabase] for a file that is not a SQLite
// database (and leaves it untouched), with [ErrReadOnly] for one this
// process cannot write, and with [ErrIncompatibleTable] when a table of
// the same name has another shape. Later failures, such as the database
// locked beyond the busy timeout or the file made read-only, are errors
// the Manager wraps in session.ErrStore, never an empty session. (After
// fixing a file's permissions, fix those of its -wal and -shm files too:
// SQLite may have recreated them read-only.)
//
// # Schema
//
// Open and New run exactly this SQL for the default table name
// ([SchemaSQL] gives it for another) in one IMMEDIATE transaction, which
// processes starting together take in turn:
//
//	CREATE TABLE IF NOT EXISTS "sessionkit_sessions" (
//		version    INTEGER PRIMARY KEY AUTOINCREMENT,
//		key        TEXT    NOT NULL UNIQUE,
//		data       BLOB    NOT NULL,
//		expires_at INTEGER NOT NULL
//	) STRICT;
//	CREATE TABLE IF NOT EXISTS "sessionkit_sessions_owners" (
//		owner      TEXT    NOT NULL,
//		key        TEXT    NOT NULL,
//		expires_at INTEGER NOT NULL,
//		PRIMARY KEY (owner, key)
//	) STRICT, WITHOUT ROWID;
//	CREATE INDEX IF NOT EXISTS "sessionkit_sessions_expires_at_idx" ON "sessionkit_sessions" (expires_at);
//	CREATE INDEX IF NOT EXISTS "sessionkit_sessions_owners_expires_at_idx" ON "sessionkit_sessions_owners" (expires_at);
//
// Keys are the Manager's fingerprints, never raw session IDs; data is the
// encoded record; expires_at is in milliseconds since the Unix epoch.
package sqlitestore
