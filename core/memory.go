package session

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReapInterval is how often a MemoryStore sweeps out expired
// records, the Connect seed's reapInterval.
const DefaultReapInterval = 10 * time.Minute

// memShards is the number of independently locked parts of a MemoryStore.
// Many shards keep lock contention low under parallel load and keep each
// reaper sweep short: with a million sessions a shard holds about 4,000.
const memShards = 256

// A MemoryOption configures a MemoryStore in NewMemoryStore.
type MemoryOption func(*MemoryStore) error

// WithReapInterval sets how often expired records are swept out; the
// default is DefaultReapInterval (10 minutes). Zero turns the sweep off
// (expired records are still never returned, but stay in memory).
func WithReapInterval(d time.Duration) MemoryOption {
	return func(s *MemoryStore) error {
		if d < 0 {
			return fmt.Errorf("session: negative reap interval %v", d)
		}
		s.reapEvery = d
		return nil
	}
}

// WithMaxAge caps how long any record is kept after it was last written,
// whatever expiry it was given. By default there is no cap: records live
// until the expiry the Manager gives them, which already enforces the
// session lifetime and idle timeout.
func WithMaxAge(d time.Duration) MemoryOption {
	return func(s *MemoryStore) error {
		if d < 0 {
			return fmt.Errorf("session: negative max age %v", d)
		}
		s.maxAge = d
		return nil
	}
}

// WithMaxEntries bounds the number of records, so a flood of cookie-less
// requests cannot exhaust memory. Only when the store holds n records does
// writing a new one evict another: an expired record if a small random
// sample finds one, else the sampled record closest to its expiry (as
// Redis' allkeys-lru approximates). Eviction samples one shard (a 256th of
// the store) at a time, so the evicted record is among the soonest to
// expire of its sample, not of the whole store. By default there is no
// bound.
func WithMaxEntries(n int) MemoryOption {
	return func(s *MemoryStore) error {
		if n < 0 {
			return fmt.Errorf("session: negative max entries %d", n)
		}
		s.maxEntries = int64(n)
		return nil
	}
}

// MemoryStore is a VersionedStore that keeps records in this process, for a
// single instance or for tests. It is sharded to scale across cores, keeps
// records encoded (so a handler mutating a value after the commit cannot
// change what is stored), and sweeps expired records in the background one
// shard at a time so a sweep never stalls requests for long. It also
// implements Lister and OwnerIndex. Call Close to stop its sweeper.
type MemoryStore struct {
	shards     [memShards]memShard
	seed       maphash.Seed
	maxAge     time.Duration
	reapEvery  time.Duration
	maxEntries int64        // 0: unbounded
	count      atomic.Int64 // records held, expired ones included
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	now        func() time.Time

	ownersMu sync.Mutex
	owners   map[string]map[string]int64 // owner → key → expiry (Unix ns)
}

type memShard struct {
	mu  sync.RWMutex
	m   map[string]memEntry
	seq uint64 // last version handed out in this shard
	_   [32]byte
}

type memEntry struct {
	data    []byte
	expiry  int64 // Unix nanoseconds
	version uint64
}

// NewMemoryStore returns a MemoryStore configured by opts and starts its
// sweeper. Invalid options return an error.
func NewMemoryStore(opts ...MemoryOption) (*MemoryStore, error) {
	s := &MemoryStore{
		seed:      maphash.MakeSeed(),
		reapEvery: DefaultReapInterval,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		now:       time.Now,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]memEntry)
	}
	if s.reapEvery > 0 {
		go s.reapLoop(s.reapEvery)
	} else {
		close(s.done)
	}
	return s, nil
}

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)%memShards]
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) {
	data, _, err := s.GetVersion(ctx, key)
	return data, err
}

// GetVersion implements VersionedStore.
func (s *MemoryStore) GetVersion(_ context.Context, key string) ([]byte, uint64, error) {
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	if !ok || e.expiry <= s.now().UnixNano() {
		return nil, 0, ErrNotFound
	}
	return e.data, e.version, nil
}

// Set implements Store.
func (s *MemoryStore) Set(_ context.Context, key string, data []byte, expiry time.Time) error {
	if data == nil {
		data = []byte{}
	}
	_, err := s.put(key, data, expiry, 0, false)
	return err
}

// SetVersion implements VersionedStore.
func (s *MemoryStore) SetVersion(_ context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error) {
	if len(data) == 0 {
		data = nil // a conditional delete
	}
	return s.put(key, data, expiry, version, true)
}

func (s *MemoryStore) put(key string, data []byte, expiry time.Time, version uint64, check bool) (uint64, error) {
	now := s.now()
	if s.maxAge > 0 {
		if limit := now.Add(s.maxAge); expiry.After(limit) {
			expiry = limit
		}
	}
	var cp []byte
	if data != nil {
		cp = make([]byte, len(data))
		copy(cp, data)
	}
	nowNano := now.UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	ver, added, err := s.putLocked(sh, key, cp, expiry.UnixNano(), nowNano, version, check)
	sh.mu.Unlock()
	if added && s.maxEntries > 0 && s.count.Load() > s.maxEntries {
		s.evict(key, nowNano)
	}
	return ver, err
}

// putLocked is put under sh's lock; nil data deletes. It returns the new
// version and whether it added a record.
func (s *MemoryStore) putLocked(sh *memShard, key string, data []byte, expiry, now int64, version uint64, check bool) (uint64, bool, error) {
	old, exists := sh.m[key]
	if exists && old.expiry <= now {
		s.remove(sh, key) // expired: as good as absent
		exists = false
	}
	if check {
		cur := uint64(0)
		if exists {
			cur = old.version
		}
		if cur != version {
			return 0, false, ErrConflict
		}
	}
	if data == nil {
		if exists {
			s.remove(sh, key)
		}
		return 0, false, nil
	}
	if expiry <= now {
		if exists {
			s.remove(sh, key)
		}
		return 0, false, nil // born expired: as good as deleted
	}
	sh.seq++
	sh.m[key] = memEntry{data: data, expiry: expiry, version: sh.seq}
	if !exists {
		s.count.Add(1)
	}
	return sh.seq, !exists, nil
}

// remove deletes a record known to be in sh; the caller holds sh's lock.
func (s *MemoryStore) remove(sh *memShard, key string) {
	delete(sh.m, key)
	s.count.Add(-1)
}

// evict removes records until the store is back within MaxEntries: from
// each shard it visits (starting at a random one, one lock at a time) an
// expired record if a small random sample finds one, else the sampled
// record closest to its expiry. It never evicts keep, the record whose
// write made the store overflow.
func (s *MemoryStore) evict(keep string, now int64) {
	const sample = 8
	start := rand.N(memShards)
	for i := 0; i < memShards && s.count.Load() > s.maxEntries; i++ {
		sh := &s.shards[(start+i)%memShards]
		sh.mu.Lock()
		var (
			victim  string
			soonest int64
			found   bool
		)
		n := 0
		for k, e := range sh.m { // map iteration starts at a random place
			if k == keep {
				continue
			}
			if !found || e.expiry < soonest {
				victim, soonest, found = k, e.expiry, true
			}
			if n++; e.expiry <= now || n == sample {
				break
			}
		}
		if found {
			s.remove(sh, victim)
		}
		sh.mu.Unlock()
	}
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	sh := s.shard(key)
	sh.mu.Lock()
	if _, ok := sh.m[key]; ok {
		s.remove(sh, key)
	}
	sh.mu.Unlock()
	return nil
}

// Clear removes every record.
func (s *MemoryStore) Clear(context.Context) error {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.count.Add(-int64(len(sh.m)))
		clear(sh.m)
		sh.mu.Unlock()
	}
	return nil
}

// Range implements Lister. It visits one shard at a time from a copy taken
// under the shard's read lock, so fn may call the store.
func (s *MemoryStore) Range(ctx context.Context, fn func(key string, data []byte, version uint64) error) error {
	type rec struct {
		key     string
		data    []byte
		version uint64
	}
	var batch []rec
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.now().UnixNano()
		sh := &s.shards[i]
		batch = batch[:0]
		sh.mu.RLock()
		for k, e := range sh.m {
			if e.expiry > now {
				batch = append(batch, rec{k, e.data, e.version}) // entries are never modified in place
			}
		}
		sh.mu.RUnlock()
		for _, r := range batch {
			if err := fn(r.key, r.data, r.version); err != nil {
				return err
			}
		}
	}
	return nil
}

// Len counts the live records.
func (s *MemoryStore) Len(context.Context) (int, error) {
	now := s.now().UnixNano()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for _, e := range sh.m {
			if e.expiry > now {
				n++
			}
		}
		sh.mu.RUnlock()
	}
	return n, nil
}

// Reap removes every expired record now. The background sweeper calls it
// every ReapInterval. It finds expired records in one shard at a time under
// the shard's read lock, which lets lookups go on, and deletes them in small
// batches under the write lock, so no request waits for more than a short
// batch.
func (s *MemoryStore) Reap() {
	s.reapOwners()
	const batch = 64
	var expired []string
	for i := range s.shards {
		sh := &s.shards[i]
		now := s.now().UnixNano()
		expired = expired[:0]
		sh.mu.RLock()
		for k, e := range sh.m {
			if e.expiry <= now {
				expired = append(expired, k)
			}
		}
		sh.mu.RUnlock()
		for len(expired) > 0 {
			n := min(batch, len(expired))
			sh.mu.Lock()
			for _, k := range expired[:n] {
				if e, ok := sh.m[k]; ok && e.expiry <= now { // not rewritten meanwhile
					s.remove(sh, k)
				}
			}
			sh.mu.Unlock()
			expired = expired[n:]
			runtime.Gosched()
		}
	}
}

// AddOwner implements OwnerIndex.
func (s *MemoryStore) AddOwner(_ context.Context, owner, key string, expiry time.Time) error {
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	if s.owners == nil {
		s.owners = make(map[string]map[string]int64)
	}
	keys := s.owners[owner]
	if keys == nil {
		keys = make(map[string]int64, 1)
		s.owners[owner] = keys
	}
	keys[key] = max(keys[key], expiry.UnixNano())
	return nil
}

// Owned implements OwnerIndex.
func (s *MemoryStore) Owned(_ context.Context, owner string) ([]string, error) {
	now := s.now().UnixNano()
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	var out []string
	for k, exp := range s.owners[owner] {
		if exp > now {
			out = append(out, k)
		}
	}
	return out, nil
}

// RemoveOwner implements OwnerIndex.
func (s *MemoryStore) RemoveOwner(_ context.Context, owner string, keys ...string) error {
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	for _, k := range keys {
		delete(s.owners[owner], k)
	}
	if len(s.owners[owner]) == 0 {
		delete(s.owners, owner)
	}
	return nil
}

// reapOwners forgets expired entries of the owner index.
func (s *MemoryStore) reapOwners() {
	now := s.now().UnixNano()
	s.ownersMu.Lock()
	defer s.ownersMu.Unlock()
	for owner, keys := range s.owners {
		for k, exp := range keys {
			if exp <= now {
				delete(keys, k)
			}
		}
		if len(keys) == 0 {
			delete(s.owners, owner)
		}
	}
}

func (s *MemoryStore) reapLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Reap()
		}
	}
}

// Close stops the background sweeper and waits for it to finish. The store
// stays usable. Close is safe to call more than once.
func (s *MemoryStore) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}
