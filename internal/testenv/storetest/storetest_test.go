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

// countingStore counts every call as one statement, and Owned as extra
// more. Set with empty data deletes, as the SQL stores' does.
type countingStore struct {
	*session.MemoryStore
	n     atomic.Int64
	extra int64
}

func (c *countingStore) count() func() int64 { return c.n.Load }

func (c *countingStore) Get(ctx context.Context, k string) ([]byte, error) {
	c.n.Add(1)
	return c.MemoryStore.Get(ctx, k)
}

func (c *countingStore) GetVersion(ctx context.Context, k string) ([]byte, uint64, error) {
	c.n.Add(1)
	return c.MemoryStore.GetVersion(ctx, k)
}

func (c *countingStore) Set(ctx context.Context, k string, d []byte, exp time.Time) error {
	c.n.Add(1)
	if len(d) == 0 {
		return c.MemoryStore.Delete(ctx, k)
	}
	return c.MemoryStore.Set(ctx, k, d, exp)
}

func (c *countingStore) SetVersion(ctx context.Context, k string, d []byte, exp time.Time, v uint64) (uint64, error) {
	c.n.Add(1)
	return c.MemoryStore.SetVersion(ctx, k, d, exp, v)
}

func (c *countingStore) Delete(ctx context.Context, k string) error {
	c.n.Add(1)
	return c.MemoryStore.Delete(ctx, k)
}

func (c *countingStore) AddOwner(ctx context.Context, o, k string, exp time.Time) error {
	c.n.Add(1)
	return c.MemoryStore.AddOwner(ctx, o, k, exp)
}

func (c *countingStore) Owned(ctx context.Context, o string) ([]string, error) {
	c.n.Add(1 + c.extra)
	return c.MemoryStore.Owned(ctx, o)
}

func (c *countingStore) RemoveOwner(ctx context.Context, o string, keys ...string) error {
	c.n.Add(1)
	return c.MemoryStore.RemoveOwner(ctx, o, keys...)
}

func TestOneStatementEach(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{MemoryStore: testenv.MemoryStore(t)}
	require.NoError(t, storetest.OneStatementEach(ctx, s, s.count()))

	s = &countingStore{MemoryStore: testenv.MemoryStore(t), extra: 1}
	require.EqualError(t, storetest.OneStatementEach(ctx, s, s.count()), "Owned sent 2 statements, want 1")
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
