// Package pgstore keeps sessionkit sessions in a PostgreSQL table, through
// a pgx v5 connection pool.
//
//	store, err := pgstore.Open(ctx, "postgres://app@db:5432/app", pgstore.WithCreateTable())
//	if err != nil { ... }
//	defer store.Close()
//	m, err := session.NewManager(session.WithStore(store))
//
// With a pool the application already has, use [New]; Close then leaves
// the pool open. A [Store] is a session.VersionedStore, so concurrent
// requests on one session merge instead of overwriting each other, a
// session.Lister (Manager.DestroyMatching) and a session.OwnerIndex
// (Manager.Sessions, Revoke, RevokeAll). Loading a session is one SELECT
// by primary key; committing a change is one UPDATE.
//
// # Schema
//
// With WithCreateTable, New runs exactly this SQL (shown for the default
// table name; [SchemaSQL] gives it for another) under an advisory lock,
// so that instances starting together do not race:
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
// If migrations create the tables, run that SQL from them and leave
// WithCreateTable out. Either way New refuses, with [ErrNoTable] and a
// message saying what to change, tables whose shape cannot keep the
// store's guarantees: key text, data bytea, version bigint and expires_at
// timestamptz, all NOT NULL; version drawn from an ascending, non-cycling
// bigint sequence (an identity column, or a DEFAULT of exactly nextval);
// a unique index on key alone; PRIMARY KEY (owner, key) on the owner table.
// These checks need PostgreSQL 12 or later. Keys are the Manager's
// fingerprints, never session IDs.
//
// Expiry is compared with the database clock, now(), so all instances
// agree whether a row is live. A background goroutine deletes expired rows
// every WithCleanupInterval (10 minutes) in short batches that never wait
// for a lock; [Store.DeleteExpired] runs a sweep on demand.
//
// A commit's time is mostly PostgreSQL flushing its write-ahead log. A
// pool dedicated to sessions may set synchronous_commit=off (for instance
// "?synchronous_commit=off" in the URL) if losing the last fraction of a
// second of session writes on a database crash is acceptable. Behind
// PgBouncer in transaction mode, use PgBouncer 1.21 or later with
// max_prepared_statements, or add "default_query_exec_mode=exec" to the
// URL.
//
// Every call honours its context: when the database is unreachable, calls
// fail by the request's deadline with an error the Manager wraps in
// session.ErrStore, and the pool recovers by itself when it is back.
// docs/DESIGN.md says why the schema is what it is.
package pgstore
