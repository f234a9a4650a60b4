package session

import (
	"context"
	"time"
)

// An Observer receives what a Manager does, for metrics and traces; the
// module github.com/sessionkit/sessionkit/otel turns it into OpenTelemetry
// metrics and spans. Its methods are called on request paths: they must be
// fast and safe for concurrent use.
type Observer interface {
	// StoreCall is called before every store call the Manager makes, op
	// naming it ("get", "set", "set_version", "delete", "range",
	// "add_owner", "owned", "remove_owner"). It returns the context for the
	// call (one carrying a span, say) and a function the Manager calls
	// with the call's result when it returns. ErrNotFound and ErrConflict
	// are answers, not failures.
	StoreCall(ctx context.Context, op string) (context.Context, func(err error))

	// Event reports something that happened to a session.
	Event(ctx context.Context, e Event)
}

// An Event is something that happened to a session, as an Observer sees it.
type Event uint8

// Events.
const (
	EventLoaded       Event = iota + 1 // a request found its stored session
	EventLoadedNew                     // a request found none and got a new session
	EventLoadFailed                    // loading failed (store error or corrupt record)
	EventCommitted                     // a commit wrote to the store
	EventCommitFailed                  // a commit failed
	EventConflict                      // a compare-and-swap lost to a concurrent writer and was retried
	EventCreated                       // a new session was stored
	EventDestroyed                     // a session was destroyed (logout, revocation)
	EventCorrupt                       // a stored record could not be decoded (with EventLoadFailed)
)

// String returns the event's name, as metrics label it.
func (e Event) String() string {
	switch e {
	case EventLoaded:
		return "loaded"
	case EventLoadedNew:
		return "loaded_new"
	case EventLoadFailed:
		return "load_failed"
	case EventCommitted:
		return "committed"
	case EventCommitFailed:
		return "commit_failed"
	case EventConflict:
		return "conflict"
	case EventCreated:
		return "created"
	case EventDestroyed:
		return "destroyed"
	case EventCorrupt:
		return "corrupt"
	}
	return "unknown"
}

// WithObserver makes the Manager report its store calls and session events
// to o. The default reports nothing and costs nothing.
func WithObserver(o Observer) Option {
	return func(m *Manager) error { m.observer = o; return nil }
}

func nopDone(error) {}

// call starts a store call for the Observer.
func (m *Manager) call(ctx context.Context, op string) (context.Context, func(error)) {
	if m.observer == nil {
		return ctx, nopDone
	}
	return m.observer.StoreCall(ctx, op)
}

// event reports e to the Observer.
func (m *Manager) event(ctx context.Context, e Event) {
	if m.observer != nil {
		m.observer.Event(ctx, e)
	}
}

// The store calls of the Manager, each reported to the Observer.

func (m *Manager) storeGet(ctx context.Context, key string) ([]byte, uint64, error) {
	ctx, done := m.call(ctx, "get")
	var (
		data []byte
		ver  uint64
		err  error
	)
	if m.versioned != nil {
		data, ver, err = m.versioned.GetVersion(ctx, key)
	} else {
		data, err = m.store.Get(ctx, key)
	}
	done(err)
	return data, ver, err
}

func (m *Manager) storeSet(ctx context.Context, key string, data []byte, expiry time.Time) error {
	ctx, done := m.call(ctx, "set")
	err := m.store.Set(ctx, key, data, expiry)
	done(err)
	return err
}

func (m *Manager) storeSetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error) {
	ctx, done := m.call(ctx, "set_version")
	v, err := m.versioned.SetVersion(ctx, key, data, expiry, version)
	done(err)
	return v, err
}

func (m *Manager) storeDelete(ctx context.Context, key string) error {
	ctx, done := m.call(ctx, "delete")
	err := m.store.Delete(ctx, key)
	done(err)
	return err
}
