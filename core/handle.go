package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// maxCASAttempts bounds how often a commit retries against concurrent
// writers before it reports the conflict; the request's context deadline
// bounds it too.
const maxCASAttempts = 64

// A Handle links one request to its Manager: it loads the session lazily
// and commits it once. Adapters create one per request with Manager.Begin
// (or embed a Handle in their own per-request value and call Init, which
// saves an allocation), call Commit just before the response headers are
// written, and call Commit again after the handler returns, to commit an
// untouched response and to learn of changes made too late.
//
// A Handle is safe for concurrent use by the goroutines serving its
// request. It must not be used after the request ends.
type Handle struct {
	m         *Manager
	x         Exchange
	mu        sync.Mutex
	loaded    bool
	committed bool
	hadCookie bool
	err       error
	sess      *Session // allocated on first use: untouched requests stay small
}

// Begin returns a Handle for one request described by x.
func (m *Manager) Begin(x Exchange) *Handle {
	h := new(Handle)
	h.Init(m, x)
	return h
}

// Init prepares h, which must be new or zero, for one request described by
// x. It is Begin for adapters that embed a Handle.
func (h *Handle) Init(m *Manager, x Exchange) {
	h.m, h.x = m, x
}

// Manager returns the Manager h belongs to.
func (h *Handle) Manager() *Manager { return h.m }

// Loaded reports whether the handler asked for the session, that is
// whether Session was called.
func (h *Handle) Loaded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.loaded || h.err != nil
}

// Session returns the request's session, loading it from the store on the
// first call. A request without a usable cookie, or whose cookie finds no
// live record for this client, gets a new empty session with a fresh
// server-made ID. The error wraps ErrStore when the store failed and
// ErrCorrupt when the stored record could not be decoded; in both cases
// there is no session, so nothing can later overwrite the stored data.
// Later calls return the same result.
func (h *Handle) Session() (*Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.loaded {
		return h.sess, nil
	}
	if h.err != nil {
		return nil, h.err
	}
	if err := h.load(); err != nil {
		h.err = err
		return nil, err
	}
	h.loaded = true
	if h.committed {
		h.sess.committed = true // loaded after the headers went out: read-only
	}
	return h.sess, nil
}

// pickID returns the session ID carried by the request's cookies, or ""
// when there is none, the values are not all the same (ambiguous, as when a
// sibling domain tosses in a second cookie of the same name), or it is not
// a well-formed ID.
func pickID(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	id := vals[0]
	for _, v := range vals[1:] {
		if v != id {
			return ""
		}
	}
	if !ValidID(id) {
		return ""
	}
	return id
}

func (h *Handle) load() error {
	m, s := h.m, &Session{h: h}
	h.sess = s
	ctx, cancel := h.storeContext()
	defer cancel()
	now := m.now()
	vals := h.x.Cookies(m.cookieName)
	h.hadCookie = len(vals) > 0
	if id := pickID(vals); id != "" {
		key := m.fingerprint(id, h.x)
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
		switch {
		case err == nil:
			var rec Record
			if err := m.codec.Decode(data, &rec); err != nil {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			if now.Before(m.deadline(rec.Created, rec.Accessed)) {
				s.id = strings.Clone(id) // the Exchange's memory may be reused
				s.key, s.oldKey, s.version = key, key, ver
				s.created, s.accessed, s.values = rec.Created, rec.Accessed, rec.Values
				return nil
			}
			// Past a deadline: the store kept it longer than we allow.
		case errors.Is(err, ErrNotFound):
		default:
			return fmt.Errorf("%w: load: %w", ErrStore, err)
		}
	}
	s.isNew = true
	s.created, s.accessed = now, now
	return nil
}

// Commit writes the session to the store and sets the cookie, if the
// request changed anything that needs it. Adapters call it just before the
// response headers are written, and again when the handler returns.
//
// The first call does the work; its error wraps ErrStore when the store
// failed. Later calls return nil, or ErrLateChange if the session was
// changed after the first call (those changes are not saved, and the
// Manager's logger records which keys). An untouched session costs nothing.
func (h *Handle) Commit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := !h.committed
	h.committed = true
	if !h.loaded {
		return nil
	}
	s := h.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if first && !s.committed {
		s.committed = true
		return h.save(s)
	}
	if len(s.late) > 0 {
		keys := s.late
		s.late = nil
		h.m.logger.Warn("sessionkit: session changed after the response headers were sent; change not saved",
			"keys", keys)
		return fmt.Errorf("%w (keys %v)", ErrLateChange, keys)
	}
	return nil
}

// storeContext returns the context for the store calls of one load or
// commit: the request's, bounded by WithStoreTimeout when set.
func (h *Handle) storeContext() (context.Context, context.CancelFunc) {
	ctx := h.x.Context()
	if h.m.storeTimeout > 0 {
		return context.WithTimeout(ctx, h.m.storeTimeout)
	}
	return ctx, func() {}
}

// save commits s; the caller holds both locks.
func (h *Handle) save(s *Session) error {
	m := h.m
	ctx, cancel := h.storeContext()
	defer cancel()
	now := m.now()

	var write bool
	if s.isNew {
		write = len(s.values) > 0 || s.regenerated || s.touched || (m.saveNew && !s.destroyed)
	} else {
		write = len(s.changed) > 0 || s.cleared || s.touched ||
			(m.idleTimeout > 0 && now.Sub(s.accessed) >= m.touchEvery)
	}

	if write {
		s.accessed = now
		if s.id == "" {
			s.id = newID()
		}
		if s.key == "" {
			s.key = m.fingerprint(s.id, h.x)
		}
		ok, err := h.write(ctx, s)
		if err != nil {
			return err
		}
		write = ok
	}
	// The old record goes before the client hears of a new ID: if deleting
	// it fails, the request fails with no new cookie, rather than leaving a
	// pre-login ID alive behind a success.
	if s.dropOld {
		if err := m.store.Delete(ctx, s.oldKey); err != nil {
			return fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
	}
	if write && (s.isNew || m.persistent) {
		h.x.SetCookie(m.cookie(s.id, m.deadline(s.created, s.accessed), now))
	}
	if s.destroyed && !write && h.hadCookie {
		h.x.SetCookie(m.cookie("", now, now))
	}
	return nil
}

// write stores s under s.key. It reports false when the record was
// destroyed concurrently, in which case nothing is written: a commit never
// resurrects a session another request logged out.
func (h *Handle) write(ctx context.Context, s *Session) (bool, error) {
	m := h.m
	bp := m.getBuf()
	defer m.putBuf(bp)
	for attempt := 1; ; attempt++ {
		rec := Record{Created: s.created, Accessed: s.accessed, Values: s.values}
		data, err := m.codec.Encode((*bp)[:0], &rec)
		if err != nil {
			return false, fmt.Errorf("session: encode: %w", err)
		}
		*bp = data
		expiry := m.deadline(s.created, s.accessed)
		if m.versioned == nil {
			if err := m.store.Set(ctx, s.key, data, expiry); err != nil {
				return false, fmt.Errorf("%w: save: %w", ErrStore, err)
			}
			return true, nil
		}
		version := s.version
		if s.isNew {
			version = 0
		}
		err = m.versioned.SetVersion(ctx, s.key, data, expiry, version)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, fmt.Errorf("%w: save: %w", ErrStore, err)
		}
		if s.isNew || attempt == maxCASAttempts {
			return false, fmt.Errorf("%w: save: %w after %d attempts", ErrStore, err, attempt)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, fmt.Errorf("%w: save: %w", ErrStore, err)
		}
		// Another request wrote the record since we loaded it. Re-read it
		// and apply only this request's own changes on top.
		latest, ver, err := m.versioned.GetVersion(ctx, s.key)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: reload: %w", ErrStore, err)
		}
		if len(s.changed) == 0 && !s.cleared {
			return true, nil // only a touch, and the other writer touched it
		}
		var rec2 Record
		if err := m.codec.Decode(latest, &rec2); err != nil {
			return false, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		merged := rec2.Values
		if s.cleared || merged == nil {
			merged = make(map[string]any, len(s.values))
		}
		for _, k := range s.changed {
			if v, ok := s.values[k]; ok {
				merged[k] = v
			} else {
				delete(merged, k)
			}
		}
		s.values, s.version, s.created = merged, ver, rec2.Created
	}
}

// backoff waits before the next compare-and-swap attempt: not at all after
// the first conflict (a single concurrent writer is the common case), then
// a random time up to a bound that doubles from 100µs to 20ms, so that many
// writers on one session take turns instead of colliding again in lockstep
// over a network round trip. It returns the context's error if the
// request ends first.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	limit := min(100*time.Microsecond<<min(attempt-2, 10), 20*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
