package fasthttpsession

import (
	"context"
	"sync"
	"time"
)

// storeTimeout is the part of a Framework boundCtx uses. A type parameter
// rather than a field: every state holds a boundCtx, and a field would
// push fiber v2's state into a larger size class.
type storeTimeout interface{ StoreTimeout() time.Duration }

// boundCtx is the context of one load or commit that nothing else bounds:
// the user context with a deadline F's StoreTimeout after the store first
// looks at it. The clock and the timer are started only when a store asks,
// so the MemoryStore costs neither, and an unstarted boundCtx serves the
// next call. Every state holds one: it stays small.
type boundCtx[F storeTimeout] struct {
	mu       sync.Mutex
	parent   context.Context
	deadline int64       // Unix nanoseconds, fixed by the store's first look; 0 before
	timer    *boundTimer // once a store asked for Done or Err
}

// boundTimer is the context.WithDeadline behind a started boundCtx.
type boundTimer struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// reset prepares b, which no store has started, for a new store call.
func (b *boundCtx[F]) reset(parent context.Context) {
	b.mu.Lock()
	b.parent, b.deadline = parent, 0
	b.mu.Unlock()
}

// deadlineLocked returns b's deadline, fixing it on the first call; b.mu
// is held.
func (b *boundCtx[F]) deadlineLocked() time.Time {
	if b.deadline == 0 {
		var f F
		b.deadline = time.Now().Add(f.StoreTimeout()).UnixNano()
	}
	return time.Unix(0, b.deadline)
}

// start returns the context with the timer behind b, starting it.
func (b *boundCtx[F]) start() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer == nil {
		ctx, cancel := context.WithDeadline(b.parent, b.deadlineLocked())
		b.timer = &boundTimer{ctx, cancel}
	}
	return b.timer.ctx
}

// stop cancels b's timer and reports whether a store had started it.
func (b *boundCtx[F]) stop() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.cancel()
	}
	return b.timer != nil
}

// Deadline implements context.Context.
func (b *boundCtx[F]) Deadline() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deadlineLocked(), true
}

// Done implements context.Context.
func (b *boundCtx[F]) Done() <-chan struct{} { return b.start().Done() }

// Err implements context.Context.
func (b *boundCtx[F]) Err() error { return b.start().Err() }

// Value implements context.Context.
func (b *boundCtx[F]) Value(key any) any {
	b.mu.Lock()
	parent := b.parent
	b.mu.Unlock()
	return parent.Value(key)
}
