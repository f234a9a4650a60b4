package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The owner index lives under the store's prefix, so Clear removes it, but
// Range and Len see sessions only: an index key is never taken for a
// session (nor for foreign data).
func TestOwnerIndexKeysAreNotSessions(t *testing.T) {
	for name, c := range map[string]func(testing.TB) *Store{
		"node":    func(tb testing.TB) *Store { return newTestStore(tb, singleClient(tb)) },
		"cluster": func(tb testing.TB) *Store { return newTestStore(tb, clusterClient(tb)) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := c(t)
			exp := time.Now().Add(time.Hour)
			require.NoError(t, s.Set(ctx, "sess-a", []byte("a"), exp))
			require.NoError(t, s.AddOwner(ctx, "ann ∅ odd:owner{x}", "sess-a", exp))
			require.NoError(t, s.AddOwner(ctx, "bob", "sess-b", exp))
			keys, err := s.Owned(ctx, "ann ∅ odd:owner{x}")
			require.NoError(t, err)
			assert.Equal(t, []string{"sess-a"}, keys)
			n, err := s.Len(ctx)
			require.NoError(t, err)
			assert.Equal(t, 1, n, "Len counts sessions, not index keys")
			all, err := allRecords(s, ctx)
			require.NoError(t, err)
			assert.Len(t, all, 1)
			require.NoError(t, s.Clear(ctx))
			keys, err = s.Owned(ctx, "bob")
			require.NoError(t, err)
			assert.Empty(t, keys, "Clear removes the index too")
		})
	}
}

// Expired members are not listed, pruned on the next AddOwner, and the
// index key expires with its last member.
func TestOwnerIndexExpires(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, singleClient(t))
	require.NoError(t, s.AddOwner(ctx, "ann", "old", time.Now().Add(300*time.Millisecond)))
	require.NoError(t, s.AddOwner(ctx, "ann", "new", time.Now().Add(time.Hour)))
	require.NoError(t, s.AddOwner(ctx, "ann", "new", time.Now().Add(time.Minute))) // keeps the later expiry
	time.Sleep(400 * time.Millisecond)
	keys, err := s.Owned(ctx, "ann")
	require.NoError(t, err)
	assert.Equal(t, []string{"new"}, keys)
	require.NoError(t, s.AddOwner(ctx, "ann", "third", time.Now().Add(time.Hour)))
	n, err := s.c.ZCard(ctx, s.ownerKey("ann")).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the expired member was pruned")
	ttl, err := s.c.PTTL(ctx, s.ownerKey("ann")).Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Hour.Milliseconds(), ttl.Milliseconds(), 5000)
	require.NoError(t, s.RemoveOwner(ctx, "ann", "new", "third", "never-there"))
	keys, err = s.Owned(ctx, "ann")
	require.NoError(t, err)
	assert.Empty(t, keys)
}
