package session_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

func TestMemoryStoreConformance(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		s := testenv.MemoryStore(t)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMemoryStoreBoundEvictsSoonestExpiry(t *testing.T) {
	ctx := context.Background()
	s := testenv.MemoryStore(t, session.WithMaxEntries(1000), session.WithReapInterval(0))
	defer s.Close()
	now := time.Now()
	for i := range 20000 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("flood-%d", i), []byte("x"), now.Add(time.Duration(i)*time.Second+time.Minute)))
	}
	n, err := s.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1000, n, "the bound holds")
	// The survivors skew to the latest expiries: eviction picks the soonest.
	all := allRecords(t, s)
	late := 0
	for k := range all {
		var i int
		fmt.Sscanf(k, "flood-%d", &i)
		if i >= 10000 {
			late++
		}
	}
	assert.Greater(t, late, len(all)*3/4)
	// Updating an existing key in a full store evicts nothing.
	for k := range all {
		require.NoError(t, s.Set(ctx, k, []byte("y"), now.Add(time.Hour)))
	}
	n2, _ := s.Len(ctx)
	assert.Equal(t, n, n2)
}

func TestMemoryStoreReapAndMaxAge(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := testenv.MemoryStore(t, session.WithMaxAge(time.Hour), session.WithReapInterval(0))
	session.SetClock(nil, s, clk.Now)
	require.NoError(t, s.Set(ctx, "short", []byte("x"), clk.Now().Add(time.Minute)))
	require.NoError(t, s.Set(ctx, "capped", []byte("x"), clk.Now().Add(100*time.Hour)))
	clk.Advance(2 * time.Minute)
	s.Reap()
	all := allRecords(t, s)
	assert.Len(t, all, 1)
	clk.Advance(time.Hour)
	_, err := s.Get(ctx, "capped")
	assert.ErrorIs(t, err, session.ErrNotFound, "MaxAge caps the expiry")
	s.Reap()
	n, _ := s.Len(ctx)
	assert.Zero(t, n)
	assert.NoError(t, s.Close())
	assert.NoError(t, s.Close(), "Close is idempotent")
}

func TestMemoryStoreBackgroundReaper(t *testing.T) {
	ctx := context.Background()
	s := testenv.MemoryStore(t, session.WithReapInterval(20*time.Millisecond))
	require.NoError(t, s.Set(ctx, "k", []byte("x"), time.Now().Add(30*time.Millisecond)))
	require.Equal(t, 1, session.RawLen(s))
	assert.Eventually(t, func() bool { return session.RawLen(s) == 0 }, 2*time.Second, 10*time.Millisecond,
		"the sweeper removes the expired record from memory")
	require.NoError(t, s.Close())
	require.NoError(t, s.Set(ctx, "after-close", []byte("x"), time.Now().Add(time.Minute)), "usable after Close")
}

func TestManagerCloseClosesOnlyItsOwnStore(t *testing.T) {
	m, err := session.NewManager()
	require.NoError(t, err)
	require.NoError(t, m.Close())
	own := testenv.MemoryStore(t)
	m, err = session.NewManager(session.WithStore(own))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, own.Close())
}

func TestMemoryStoreBoundIsGlobalNotPerShard(t *testing.T) {
	ctx := context.Background()
	s := testenv.MemoryStore(t, session.WithMaxEntries(300), session.WithReapInterval(0))
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	// Below the bound nothing is evicted, however the keys fall in shards.
	for i := range 300 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("live-%d", i), []byte("x"), exp))
	}
	n, _ := s.Len(ctx)
	require.Equal(t, 300, n, "no record may be evicted before the store is full")
	// At the bound each new record evicts one.
	for i := range 100 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("more-%d", i), []byte("x"), exp))
	}
	n, _ = s.Len(ctx)
	assert.Equal(t, 300, n)
	// Deletes, expiry and Clear keep the count right.
	all := allRecords(t, s)
	deleted := 0
	for k := range all {
		if deleted == 50 {
			break
		}
		require.NoError(t, s.Delete(ctx, k))
		require.NoError(t, s.Delete(ctx, k), "deleting twice does not count twice")
		deleted++
	}
	for i := range 50 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("refill-%d", i), []byte("x"), exp))
	}
	n, _ = s.Len(ctx)
	assert.Equal(t, 300, n, "the 50 deleted slots were reused without eviction")
	require.NoError(t, s.Clear(ctx))
	for i := range 300 {
		require.NoError(t, s.Set(ctx, fmt.Sprintf("after-clear-%d", i), []byte("x"), exp))
	}
	n, _ = s.Len(ctx)
	assert.Equal(t, 300, n)
}

// allRecords lists a store's live records through Range.
func allRecords(t *testing.T, s *session.MemoryStore) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, s.Range(context.Background(), func(k string, d []byte, _ uint64) error {
		out[k] = append([]byte(nil), d...)
		return nil
	}))
	return out
}
