package pgstore

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
)

// column is what the catalog says about one column of the session table.
type column struct {
	name, typ                      string // typ as regtype prints it
	notNull                        bool
	identity, generated, defaultTo string // "" when none
}

// wantColumns lists the columns the store uses: the type regtype prints
// and the type as SchemaSQL spells it, for the messages.
var wantColumns = []struct{ name, typ, spelt string }{
	{"key", "text", "text"},
	{"data", "bytea", "bytea"},
	{"version", "bigint", "bigint"},
	{"expires_at", "timestamp with time zone", "timestamptz"},
}

// checkTable makes sure the table exists and has a shape that keeps the
// store's guarantees, so that a misconfigured database fails at startup,
// with a message saying what to change, rather than on the first request
// or, worse, silently: a version that is not a fresh value of a bigint
// sequence on every write lets concurrent writers overwrite each other or
// stops all writes when it runs out, and a key without a unique index of
// its own makes every ON CONFLICT write fail.
func (s *Store) checkTable(ctx context.Context, ident pgx.Identifier) error {
	t := ident.Sanitize()
	rows, err := s.pool.Query(ctx, `SELECT c.relkind::text, a.attname::text, a.atttypid::regtype::text,
		a.attnotnull, a.attidentity::text, a.attgenerated::text, COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.oid = to_regclass($1)
		ORDER BY a.attnum`, t)
	if err != nil {
		return fmt.Errorf("pgstore: check table %s: %w", s.table, err)
	}
	var (
		kind string
		cols = map[string]column{}
		all  []column
	)
	for rows.Next() {
		var c column
		if err := rows.Scan(&kind, &c.name, &c.typ, &c.notNull, &c.identity, &c.generated, &c.defaultTo); err != nil {
			rows.Close()
			return fmt.Errorf("pgstore: check table %s: %w", s.table, err)
		}
		cols[c.name] = c
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: check table %s: %w", s.table, err)
	}
	if kind == "" {
		return fmt.Errorf("%w: table %s does not exist: create it with the SQL of pgstore.SchemaSQL (shown in the package doc) or pass pgstore.WithCreateTable",
			ErrNoTable, s.table)
	}
	if kind != "r" && kind != "p" { // a view, say: no ON CONFLICT there
		return fmt.Errorf("%w: %s is not a table (relkind %q): create the table of pgstore.SchemaSQL", ErrNoTable, s.table, kind)
	}

	var issues []string
	for _, w := range wantColumns {
		c, ok := cols[w.name]
		switch {
		case !ok:
			issues = append(issues, "column "+w.name+" "+w.spelt+" is missing")
			continue
		case c.typ != w.typ:
			issues = append(issues, fmt.Sprintf("column %s is %s; it must be %s", w.name, c.typ, w.spelt))
		}
		if !c.notNull {
			issues = append(issues, "column "+w.name+" must be NOT NULL")
		}
	}
	for _, c := range all {
		if c.notNull && c.defaultTo == "" && c.identity == "" && c.generated == "" && !isWanted(c.name) {
			issues = append(issues, "column "+c.name+" is NOT NULL without a DEFAULT, and the store never writes it")
		}
	}
	if v, ok := cols["version"]; ok {
		more, err := s.checkVersion(ctx, t, v)
		if err != nil {
			return err
		}
		issues = append(issues, more...)
	}
	// ON CONFLICT (key) needs a unique index on key alone, whole, and
	// checked at once; a deferrable one cannot arbitrate.
	var unique bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = 'key' AND NOT a.attisdropped
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate AND i.indisvalid
			AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indexprs IS NULL AND i.indpred IS NULL)`,
		t).Scan(&unique)
	if err != nil {
		return fmt.Errorf("pgstore: check table %s: %w", s.table, err)
	}
	if !unique && cols["key"].name != "" {
		issues = append(issues, "column key needs a unique index of its own: PRIMARY KEY (key) or UNIQUE (key), not partial, not on an expression, not deferrable")
	}
	if len(issues) > 0 {
		return fmt.Errorf("%w: table %s cannot keep the store's guarantees: %s (compare it with pgstore.SchemaSQL)",
			ErrNoTable, s.table, strings.Join(issues, "; "))
	}
	// Reading the columns also checks that this role may.
	if _, err := s.pool.Exec(ctx, "SELECT key, data, version, expires_at FROM "+t+" WHERE false"); err != nil {
		return fmt.Errorf("%w: table %s: %w (compare it with pgstore.SchemaSQL)", ErrNoTable, s.table, err)
	}
	return s.checkOwners(ctx, ownersIdent(ident))
}

// checkOwners makes sure the owner index table exists with its columns and
// a unique index on (owner, key), which its ON CONFLICT needs.
func (s *Store) checkOwners(ctx context.Context, ident pgx.Identifier) error {
	o := ident.Sanitize()
	name := strings.Join(ident, ".")
	var exists, unique bool
	err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_index i
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indimmediate AND i.indisvalid
			AND i.indnkeyatts = 2 AND i.indexprs IS NULL AND i.indpred IS NULL
			AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
				WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['key', 'owner'])`,
		o).Scan(&exists, &unique)
	if err != nil {
		return fmt.Errorf("pgstore: check table %s: %w", name, err)
	}
	if !exists {
		return fmt.Errorf("%w: the owner index table %s does not exist: create it with the SQL of pgstore.SchemaSQL or pass pgstore.WithCreateTable",
			ErrNoTable, name)
	}
	if _, err := s.pool.Exec(ctx, "SELECT owner, key, expires_at FROM "+o+" WHERE false"); err != nil {
		return fmt.Errorf("%w: table %s: %w (compare it with pgstore.SchemaSQL)", ErrNoTable, name, err)
	}
	if !unique {
		return fmt.Errorf("%w: table %s needs PRIMARY KEY (owner, key) (compare it with pgstore.SchemaSQL)", ErrNoTable, name)
	}
	return nil
}

func isWanted(name string) bool {
	for _, w := range wantColumns {
		if w.name == name {
			return true
		}
	}
	return false
}

// checkVersion returns what is wrong with how the version column v of the
// table t gets its values: "version = DEFAULT" must draw a value no write
// ever drew before, from an ascending bigint sequence of positive values
// that neither cycles nor stops short of 2^63-1.
func (s *Store) checkVersion(ctx context.Context, t string, v column) ([]string, error) {
	const fix = "make it GENERATED ALWAYS AS IDENTITY"
	switch {
	case v.generated != "":
		return []string{"column version is a generated column; " + fix}, nil
	case v.identity == "" && v.defaultTo == "":
		return []string{"column version must draw its values from a sequence; " + fix}, nil
	}
	// The sequence of an identity column depends on the column; a DEFAULT
	// depends on the sequences its expression uses.
	rows, err := s.pool.Query(ctx, `SELECT s.seqrelid::regclass::text, true, s.seqtypid::regtype::text,
			s.seqcycle, s.seqmin, s.seqmax, s.seqincrement
		FROM pg_attribute a
		JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
			AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
		JOIN pg_sequence s ON s.seqrelid = dep.objid
		WHERE a.attrelid = to_regclass($1) AND a.attname = 'version' AND a.attidentity <> ''
		UNION ALL
		SELECT s.seqrelid::regclass::text,
			pg_get_expr(d.adbin, d.adrelid) = format('nextval(%L::regclass)', s.seqrelid::regclass::text),
			s.seqtypid::regtype::text, s.seqcycle, s.seqmin, s.seqmax, s.seqincrement
		FROM pg_attribute a
		JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
			AND dep.refclassid = 'pg_class'::regclass
		JOIN pg_sequence s ON s.seqrelid = dep.refobjid
		WHERE a.attrelid = to_regclass($1) AND a.attname = 'version' AND a.attidentity = ''`, t)
	if err != nil {
		return nil, fmt.Errorf("pgstore: check table %s: %w", s.table, err)
	}
	defer rows.Close()
	var issues []string
	found := false
	for rows.Next() {
		var (
			seq, typ              string
			plain, cycle          bool
			minV, maxV, increment int64
		)
		if err := rows.Scan(&seq, &plain, &typ, &cycle, &minV, &maxV, &increment); err != nil {
			return nil, fmt.Errorf("pgstore: check table %s: %w", s.table, err)
		}
		found = true
		if !plain {
			issues = append(issues, fmt.Sprintf("the DEFAULT of column version must be exactly nextval('%s'), not %s; or %s", seq, v.defaultTo, fix))
			continue
		}
		if typ != "bigint" {
			issues = append(issues, fmt.Sprintf("sequence %s is %s; it must be bigint (ALTER SEQUENCE %s AS bigint)", seq, typ, seq))
		}
		if cycle {
			issues = append(issues, fmt.Sprintf("sequence %s has CYCLE, so versions would repeat (ALTER SEQUENCE %s NO CYCLE)", seq, seq))
		}
		if increment <= 0 {
			issues = append(issues, fmt.Sprintf("sequence %s has INCREMENT %d; it must count up", seq, increment))
		}
		if minV < 1 {
			issues = append(issues, fmt.Sprintf("sequence %s has MINVALUE %d; versions must be 1 or more", seq, minV))
		}
		if maxV != math.MaxInt64 {
			issues = append(issues, fmt.Sprintf("sequence %s has MAXVALUE %d, where all writes would stop (ALTER SEQUENCE %s NO MAXVALUE)", seq, maxV, seq))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: check table %s: %w", s.table, err)
	}
	if !found {
		issues = append(issues, fmt.Sprintf("the DEFAULT of column version, %s, draws from no sequence; %s", v.defaultTo, fix))
	}
	return issues, nil
}
