package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	session "github.com/sessionkit/sessionkit/core"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	"github.com/stretchr/testify/require"
)

// makeTable runs ddl, in which every {t} stands for a fresh table name
// and every {s} for a fresh sequence name (both dropped at the end of the
// test), and returns the table name.
func makeTable(t *testing.T, ddl string) string {
	t.Helper()
	ctx := context.Background()
	pool := testPool(t)
	table := uniqueTable(t)
	seq := table + "_seq"
	t.Cleanup(func() {
		// CASCADE: the table's default, if any, depends on it.
		pool.Exec(context.Background(), "DROP SEQUENCE IF EXISTS "+pgx.Identifier{seq}.Sanitize()+" CASCADE")
	})
	ddl = strings.NewReplacer("{t}", pgx.Identifier{table}.Sanitize(), "{s}", pgx.Identifier{seq}.Sanitize(),
		"{o}", pgx.Identifier{table + "_owners"}.Sanitize()).Replace(ddl)
	_, err := pool.Exec(ctx, ddl)
	require.NoError(t, err, ddl)
	return table
}

// TestTableShapeThatBreaksGuaranteesIsRefused makes a table for each way a
// hand-made table can pass for the session table yet break the store: a
// version that is not a fresh bigint from a sequence each time (its
// compare-and-swap then lets concurrent writers overwrite each other, or
// all writes stop when the sequence runs out), a key without a unique
// index of its own (every write fails on ON CONFLICT), other column types,
// nullable columns. New must refuse each at startup with ErrNoTable and a
// message naming what to change. Each of them used to be accepted.
func TestTableShapeThatBreaksGuaranteesIsRefused(t *testing.T) {
	for _, c := range []struct {
		name, ddl string
		says      string // a part of the error message
	}{
		{"constant version default",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint NOT NULL DEFAULT 1, expires_at timestamptz NOT NULL)",
			"version"},
		{"version default not just nextval",
			"CREATE SEQUENCE {s}; CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint NOT NULL DEFAULT nextval('{s}') % 1000, expires_at timestamptz NOT NULL)",
			"nextval"},
		{"generated version",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS (1) STORED, expires_at timestamptz NOT NULL)",
			"version"},
		{"smallint identity",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version smallint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"bigint"},
		{"integer identity",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version integer GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"bigint"},
		{"integer sequence behind a bigint column",
			"CREATE SEQUENCE {s} AS integer; CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint NOT NULL DEFAULT nextval('{s}'), expires_at timestamptz NOT NULL)",
			"bigint"},
		{"cycling identity",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY (MAXVALUE 1000 CYCLE), expires_at timestamptz NOT NULL)",
			"CYCLE"},
		{"identity with a small MAXVALUE",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY (MAXVALUE 1000), expires_at timestamptz NOT NULL)",
			"MAXVALUE"},
		{"descending identity",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY (INCREMENT BY -1), expires_at timestamptz NOT NULL)",
			"INCREMENT"},
		{"identity from zero",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY (MINVALUE 0 START WITH 0), expires_at timestamptz NOT NULL)",
			"MINVALUE"},
		{"no unique index on key",
			"CREATE TABLE {t} (key text NOT NULL, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"PRIMARY KEY"},
		{"partial unique index on key",
			"CREATE TABLE {t} (key text NOT NULL, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL); CREATE UNIQUE INDEX ON {t} (key) WHERE expires_at > '2000-01-01'",
			"PRIMARY KEY"},
		{"expression unique index",
			"CREATE TABLE {t} (key text NOT NULL, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL); CREATE UNIQUE INDEX ON {t} (lower(key))",
			"PRIMARY KEY"},
		{"key unique only with another column",
			"CREATE TABLE {t} (key text NOT NULL, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL, PRIMARY KEY (key, version))",
			"PRIMARY KEY"},
		{"deferrable primary key",
			"CREATE TABLE {t} (key text PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"PRIMARY KEY"},
		{"varchar key",
			"CREATE TABLE {t} (key varchar(64) PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"key"},
		{"text data",
			"CREATE TABLE {t} (key text PRIMARY KEY, data text NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"bytea"},
		{"expiry without time zone",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamp NOT NULL)",
			"timestamptz"},
		{"nullable data",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL)",
			"NOT NULL"},
		{"nullable expiry",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz)",
			"NOT NULL"},
		{"nullable version",
			"CREATE SEQUENCE {s}; CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint DEFAULT nextval('{s}'), expires_at timestamptz NOT NULL)",
			"NOT NULL"},
		{"another NOT NULL column the store never writes",
			"CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL, owner text NOT NULL)",
			"owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := makeTable(t, c.ddl)
			s, err := pgstore.New(context.Background(), testPool(t), pgstore.WithTable(table))
			if err == nil {
				s.Close()
			}
			require.ErrorIs(t, err, pgstore.ErrNoTable, "New accepted a table that cannot keep the store's guarantees")
			require.Contains(t, err.Error(), table)
			require.Contains(t, err.Error(), c.says, "the message does not say what to change")
			require.Contains(t, err.Error(), "SchemaSQL")
			t.Log(err)
		})
	}
}

// TestEquivalentTableShapesAreAccepted makes tables by hand that differ
// from SchemaSQL's but keep every guarantee: New accepts them, and the
// compare-and-swap works on them.
func TestEquivalentTableShapesAreAccepted(t *testing.T) {
	for _, c := range []struct{ name, ddl string }{
		{"SchemaSQL", ""},
		{"bigserial", "CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigserial, expires_at timestamptz NOT NULL);" + ownersDDL},
		{"identity by default, unique key",
			"CREATE TABLE {t} (key text NOT NULL UNIQUE, data bytea NOT NULL, version bigint GENERATED BY DEFAULT AS IDENTITY, expires_at timestamptz NOT NULL);" + ownersDDL},
		{"own sequence, unique index, more columns",
			"CREATE SEQUENCE {s}; CREATE TABLE {t} (id serial, key text NOT NULL, data bytea NOT NULL, version bigint NOT NULL DEFAULT nextval('{s}'), expires_at timestamptz NOT NULL, note text, created timestamptz NOT NULL DEFAULT now()); CREATE UNIQUE INDEX ON {t} (key) INCLUDE (expires_at);" +
				"CREATE TABLE {o} (owner text NOT NULL, key text NOT NULL, expires_at timestamptz NOT NULL); CREATE UNIQUE INDEX ON {o} (key, owner)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			var table string
			if c.ddl == "" {
				table = uniqueTable(t)
				ddl, err := pgstore.SchemaSQL(table)
				require.NoError(t, err)
				_, err = testPool(t).Exec(ctx, ddl)
				require.NoError(t, err)
			} else {
				table = makeTable(t, c.ddl)
			}
			s, err := pgstore.New(ctx, testPool(t), pgstore.WithTable(table))
			require.NoError(t, err, "New refused a table that keeps the guarantees")
			t.Cleanup(func() { s.Close() })

			exp := time.Now().Add(time.Minute)
			v1, err := s.SetVersion(ctx, "k", []byte("a"), exp, 0)
			require.NoError(t, err)
			v2, err := s.SetVersion(ctx, "k", []byte("b"), exp, v1)
			require.NoError(t, err)
			require.NotEqual(t, v1, v2)
			_, err = s.SetVersion(ctx, "k", []byte("c"), exp, v1)
			require.ErrorIs(t, err, session.ErrConflict, "a stale version was accepted")
			data, v, err := s.GetVersion(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, "b", string(data))
			require.Equal(t, v2, v)
		})
	}
}

// TestViewIsRefused points the store at a view of a good table: ON
// CONFLICT does not work on views, so New must refuse it.
func TestViewIsRefused(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	view := s.Table() + "_v"
	_, err := testPool(t).Exec(ctx, "CREATE VIEW "+pgx.Identifier{view}.Sanitize()+" AS SELECT * FROM "+pgx.Identifier{s.Table()}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() { testPool(t).Exec(context.Background(), "DROP VIEW IF EXISTS "+pgx.Identifier{view}.Sanitize()) })
	_, err = pgstore.New(ctx, testPool(t), pgstore.WithTable(view))
	require.True(t, errors.Is(err, pgstore.ErrNoTable), "New on a view: %v", err)
}

// ownersDDL makes the owner index table of {t} as SchemaSQL does.
const ownersDDL = "CREATE TABLE {o} (owner text NOT NULL, key text NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (owner, key))"

// TestOwnerIndexTableIsChecked: a session table without its owner index
// table, or with one whose ON CONFLICT (owner, key) could not work, is
// refused at startup with a message saying what to create.
func TestOwnerIndexTableIsChecked(t *testing.T) {
	const sessions = "CREATE TABLE {t} (key text PRIMARY KEY, data bytea NOT NULL, version bigint GENERATED ALWAYS AS IDENTITY, expires_at timestamptz NOT NULL);"
	for _, c := range []struct{ name, ddl, says string }{
		{"missing", sessions, "owner index table"},
		{"no unique (owner, key)", sessions + "CREATE TABLE {o} (owner text NOT NULL, key text NOT NULL, expires_at timestamptz NOT NULL)", "PRIMARY KEY (owner, key)"},
		{"unique on key alone", sessions + "CREATE TABLE {o} (owner text NOT NULL, key text NOT NULL UNIQUE, expires_at timestamptz NOT NULL)", "PRIMARY KEY (owner, key)"},
		{"column missing", sessions + "CREATE TABLE {o} (owner text NOT NULL, key text NOT NULL, PRIMARY KEY (owner, key))", "expires_at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			table := makeTable(t, c.ddl)
			s, err := pgstore.New(context.Background(), testPool(t), pgstore.WithTable(table))
			if err == nil {
				s.Close()
			}
			require.ErrorIs(t, err, pgstore.ErrNoTable)
			require.Contains(t, err.Error(), table+"_owners")
			require.Contains(t, err.Error(), c.says)
		})
	}
}
