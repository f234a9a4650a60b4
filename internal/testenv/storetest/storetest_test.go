package storetest_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/internal/testenv/storetest"
)

// The checks must bite: each is run once on a store that keeps its
// promise and once on one that breaks it.

// countedStore is a MemoryStore whose every call counts as one statement
// (Owned as 1+extra). Set with empty data deletes, as the SQL stores' does.
type countedStore struct {
	*testenv.CountingStore
	mem    *session.MemoryStore
	owners atomic.Int64
	extra  int64
}

func newCountedStore(t *testing.T, extra int64) *countedStore {
	mem := testenv.MemoryStore(t)
	return &countedStore{CountingStore: testenv.NewCountingStore(mem), mem: mem, extra: extra}
}

func (c *countedStore) statements() int64 { return c.Total() + c.owners.Load() }

func (c *countedStore) Set(ctx context.Context, k string, d []byte, exp time.Time) error {
	if len(d) == 0 {
		return c.Delete(ctx, k)
	}
	return c.CountingStore.Set(ctx, k, d, exp)
}

func (c *countedStore) AddOwner(ctx context.Context, o, k string, exp time.Time) error {
	c.owners.Add(1)
	return c.mem.AddOwner(ctx, o, k, exp)
}

func (c *countedStore) Owned(ctx context.Context, o string) ([]string, error) {
	c.owners.Add(1 + c.extra)
	return c.mem.Owned(ctx, o)
}

func (c *countedStore) RemoveOwner(ctx context.Context, o string, keys ...string) error {
	c.owners.Add(1)
	return c.mem.RemoveOwner(ctx, o, keys...)
}

func TestOneStatementEach(t *testing.T) {
	ctx := context.Background()
	s := newCountedStore(t, 0)
	require.NoError(t, storetest.OneStatementEach(ctx, s, s.statements))

	s = newCountedStore(t, 1)
	require.EqualError(t, storetest.OneStatementEach(ctx, s, s.statements), "Owned sent 2 statements, want 1")
}

// forgetfulStore acknowledges every update and keeps none: a lost write.
type forgetfulStore struct{ *session.MemoryStore }

func (f forgetfulStore) SetVersion(ctx context.Context, k string, d []byte, exp time.Time, v uint64) (uint64, error) {
	if v == 0 {
		return f.MemoryStore.SetVersion(ctx, k, d, exp, v)
	}
	return v + 1, nil
}

func TestConcurrentWriters(t *testing.T) {
	m, err := session.NewManager(session.WithStore(testenv.MemoryStore(t)))
	require.NoError(t, err)
	require.NoError(t, storetest.ConcurrentWriters(m, 4, 2))

	m, err = session.NewManager(session.WithStore(forgetfulStore{testenv.MemoryStore(t)}))
	require.NoError(t, err)
	err = storetest.ConcurrentWriters(m, 4, 2)
	require.ErrorContains(t, err, "key w3.r1 = <nil>, want 301: a concurrent commit was lost")
}

func TestSchemaDocumented(t *testing.T) {
	const ddl = "CREATE TABLE t (\n\tk text\n);\n"
	doc := filepath.Join(t.TempDir(), "doc.go")
	require.NoError(t, os.WriteFile(doc, []byte("// The schema:\n//\n//\tCREATE TABLE t (\n//\t\tk text\n//\t);\npackage x\n"), 0o600))
	require.NoError(t, storetest.SchemaDocumented(doc, ddl))
	require.Error(t, storetest.SchemaDocumented(doc, "CREATE TABLE u ();\n"), "a schema the doc does not show")
}
