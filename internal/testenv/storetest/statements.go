package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// SQLStore is what the SQL stores implement: versions and the owner index.
type SQLStore interface {
	session.VersionedStore
	session.OwnerIndex
}

// OneStatementEach makes one of each call a SQL store answers with a
// single statement, in an order in which each succeeds (create, read,
// update, a conflict, plain reads and writes, a versioned delete, a plain
// write of empty data, which the SQL stores take as a delete, a read of the
// missing key, a delete, the owner index), and returns an error for every
// call that failed or sent other than one statement. statements returns
// the number of statements sent to s's database so far.
func OneStatementEach(ctx context.Context, s SQLStore, statements func() int64) error {
	exp := time.Now().Add(time.Minute)
	var v uint64
	setVersion := func(data []byte, v uint64) error { _, err := s.SetVersion(ctx, "k", data, exp, v); return err }
	want := func(err, target error) error {
		if !errors.Is(err, target) {
			return fmt.Errorf("want %v, got %v", target, err)
		}
		return nil
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"SetVersion(create)", func() error { return setVersion([]byte("a"), 0) }},
		{"GetVersion", func() (err error) { _, v, err = s.GetVersion(ctx, "k"); return err }},
		{"SetVersion(update)", func() error { return setVersion([]byte("b"), v) }},
		{"SetVersion(conflict)", func() error { return want(setVersion([]byte("c"), v), session.ErrConflict) }},
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("d"), exp) }},
		{"GetVersion again", func() (err error) { _, v, err = s.GetVersion(ctx, "k"); return err }},
		{"SetVersion(delete)", func() error { return setVersion(nil, v) }},
		{"Set(empty)", func() error { return s.Set(ctx, "k", nil, exp) }},
		{"Get(missing)", func() error { _, err := s.Get(ctx, "k"); return want(err, session.ErrNotFound) }},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
		{"AddOwner", func() error { return s.AddOwner(ctx, "ann", "k", exp) }},
		{"Owned", func() error { _, err := s.Owned(ctx, "ann"); return err }},
		{"RemoveOwner", func() error { return s.RemoveOwner(ctx, "ann", "k", "j") }},
	}
	var errs []error
	for _, c := range calls {
		before := statements()
		if err := c.call(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("%s: %w", c.name, err))...)
		}
		if n := statements() - before; n != 1 {
			errs = append(errs, fmt.Errorf("%s sent %d statements, want 1", c.name, n))
		}
	}
	return errors.Join(errs...)
}

// SchemaDocumented returns an error unless the Go file at path (a store's
// doc.go) shows ddl as a code block: each of its lines after "//\t".
func SchemaDocumented(path, ddl string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(ddl, "\n"), "\n") {
		want.WriteString("//\t" + line + "\n")
	}
	if !strings.Contains(string(src), want.String()) {
		return fmt.Errorf("%s does not show the schema; it should contain\n%s", path, want.String())
	}
	return nil
}
