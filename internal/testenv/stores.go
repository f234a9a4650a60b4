package testenv

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// ErrDown is what a FailingStore returns while it is failing.
var ErrDown = errors.New("testenv: store is down")

// CountingStore wraps a VersionedStore and counts the calls made to it.
type CountingStore struct {
	session.VersionedStore
	gets, sets, deletes atomic.Int64
}

// NewCountingStore wraps s.
func NewCountingStore(s session.VersionedStore) *CountingStore {
	return &CountingStore{VersionedStore: s}
}

// Get implements session.Store.
func (c *CountingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.VersionedStore.Get(ctx, key)
}

// GetVersion implements session.VersionedStore.
func (c *CountingStore) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	c.gets.Add(1)
	return c.VersionedStore.GetVersion(ctx, key)
}

// Set implements session.Store.
func (c *CountingStore) Set(ctx context.Context, key string, data []byte, exp time.Time) error {
	c.sets.Add(1)
	return c.VersionedStore.Set(ctx, key, data, exp)
}

// SetVersion implements session.VersionedStore.
func (c *CountingStore) SetVersion(ctx context.Context, key string, data []byte, exp time.Time, v uint64) (uint64, error) {
	c.sets.Add(1)
	return c.VersionedStore.SetVersion(ctx, key, data, exp, v)
}

// Delete implements session.Store.
func (c *CountingStore) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.VersionedStore.Delete(ctx, key)
}

// Calls returns the number of reads, writes and deletes so far.
func (c *CountingStore) Calls() (gets, sets, deletes int64) {
	return c.gets.Load(), c.sets.Load(), c.deletes.Load()
}

// Total returns the number of calls of any kind so far.
func (c *CountingStore) Total() int64 {
	g, s, d := c.Calls()
	return g + s + d
}

// FailingStore wraps a VersionedStore and fails every call with ErrDown
// while Down is set.
type FailingStore struct {
	session.VersionedStore
	down atomic.Bool
}

// NewFailingStore wraps s; it starts up.
func NewFailingStore(s session.VersionedStore) *FailingStore {
	return &FailingStore{VersionedStore: s}
}

// SetDown makes every call fail (true) or pass through (false).
func (f *FailingStore) SetDown(down bool) { f.down.Store(down) }

func (f *FailingStore) fail() error {
	if f.down.Load() {
		return ErrDown
	}
	return nil
}

// Get implements session.Store.
func (f *FailingStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.VersionedStore.Get(ctx, key)
}

// GetVersion implements session.VersionedStore.
func (f *FailingStore) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := f.fail(); err != nil {
		return nil, 0, err
	}
	return f.VersionedStore.GetVersion(ctx, key)
}

// Set implements session.Store.
func (f *FailingStore) Set(ctx context.Context, key string, data []byte, exp time.Time) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.VersionedStore.Set(ctx, key, data, exp)
}

// SetVersion implements session.VersionedStore.
func (f *FailingStore) SetVersion(ctx context.Context, key string, data []byte, exp time.Time, v uint64) (uint64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	return f.VersionedStore.SetVersion(ctx, key, data, exp, v)
}

// Delete implements session.Store.
func (f *FailingStore) Delete(ctx context.Context, key string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.VersionedStore.Delete(ctx, key)
}

// Range implements session.Lister when the wrapped store does, and returns
// errors.ErrUnsupported otherwise.
func (c *CountingStore) Range(ctx context.Context, fn func(string, []byte, uint64) error) error {
	return rangeOver(ctx, c.VersionedStore, fn)
}

// Range implements session.Lister when the wrapped store does, and returns
// errors.ErrUnsupported otherwise. It fails while the store is down.
func (f *FailingStore) Range(ctx context.Context, fn func(string, []byte, uint64) error) error {
	if err := f.fail(); err != nil {
		return err
	}
	return rangeOver(ctx, f.VersionedStore, fn)
}

func rangeOver(ctx context.Context, s session.Store, fn func(string, []byte, uint64) error) error {
	if l, ok := s.(session.Lister); ok {
		return l.Range(ctx, fn)
	}
	return errors.ErrUnsupported
}

// PlainStore wraps a Store and offers only the methods of the Store
// interface, hiding versions, listing and the owner index, as the least a
// third-party store implements: the last write wins.
type PlainStore struct{ s session.Store }

// NewPlainStore wraps s.
func NewPlainStore(s session.Store) PlainStore { return PlainStore{s} }

// Get implements session.Store.
func (p PlainStore) Get(ctx context.Context, key string) ([]byte, error) { return p.s.Get(ctx, key) }

// Set implements session.Store.
func (p PlainStore) Set(ctx context.Context, key string, data []byte, exp time.Time) error {
	return p.s.Set(ctx, key, data, exp)
}

// Delete implements session.Store.
func (p PlainStore) Delete(ctx context.Context, key string) error { return p.s.Delete(ctx, key) }
