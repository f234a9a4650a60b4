package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"
)

// maxMoves bounds how many Regenerate markers a destroy follows, in case
// a session was regenerated several times in a row.
const maxMoves = 8

// DestroyMatching destroys every live session whose record match accepts
// and returns how many it destroyed: the way to log one user out
// everywhere, for instance
//
//	n, err := m.DestroyMatching(ctx, func(r session.Record) bool { return r.Values["user"] == "ann" })
//
// A destroyed session stays destroyed: a request racing the sweep cannot
// write it again, and a session regenerated (moved to a new ID) during the
// sweep is destroyed under its new ID too. A nil error means the sweep was
// complete; if the store cannot vouch for that (a Redis Cluster being
// resharded, say) the error says so, and running it again is safe.
//
// It visits the whole store, so it belongs in an admin action or a job, not
// on a request path. It needs a store that implements Lister (MemoryStore,
// redisstore and pgstore do) and returns an error wrapping
// errors.ErrUnsupported otherwise. Records the codec cannot decode are
// skipped.
func (m *Manager) DestroyMatching(ctx context.Context, match func(Record) bool) (int, error) {
	l, ok := m.store.(Lister)
	if !ok {
		return 0, fmt.Errorf("session: DestroyMatching: the store cannot list sessions: %w", errors.ErrUnsupported)
	}
	type hit struct {
		key     string
		version uint64
		marker  bool
	}
	var hits []hit
	rctx, done := m.call(ctx, "range")
	err := l.Range(rctx, func(key string, data []byte, version uint64) error {
		var rec Record
		switch {
		case m.codec.Decode(data, &rec) != nil:
		case rec.MovedTo != "":
			// Moved during the sweep: the new record may lie where the
			// scan has already been.
			hits = append(hits, hit{key, version, true})
		case match(rec):
			hits = append(hits, hit{key, version, false})
		}
		return nil
	})
	done(err)
	if err != nil {
		return 0, fmt.Errorf("%w: list: %w", ErrStore, err)
	}
	n := 0
	for _, h := range hits {
		var (
			d   int
			err error
		)
		if h.marker {
			d, err = m.destroyMoved(ctx, h.key, match)
		} else {
			d, err = m.destroy(ctx, h.key, h.version, 0)
		}
		n += d
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// destroyMoved destroys the session a marker under key points to if match
// accepts it, and the marker with it.
func (m *Manager) destroyMoved(ctx context.Context, key string, match func(Record) bool) (int, error) {
	rec, err := m.get(ctx, key)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	target := &rec.Record
	for depth := 0; target.MovedTo != "" && depth < maxMoves; depth++ {
		t, err := m.get(ctx, target.MovedTo)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		target = &t.Record
	}
	if target.MovedTo != "" || !match(*target) {
		return 0, nil
	}
	return m.destroy(ctx, key, 0, 0) // 0: re-read the marker, so destroy follows it
}

// destroy deletes the session under key, at the version of the session
// record the caller saw (0 if unknown or if what it saw was a move marker,
// which must be re-read to be followed), and returns how many sessions it deleted (0 or 1). A
// concurrent write does not save the record: destroy deletes it at the
// newer version. A marker left by Regenerate is followed, so the session
// dies under its new ID too, before the marker goes. Its errors wrap
// ErrStore.
func (m *Manager) destroy(ctx context.Context, key string, version uint64, depth int) (int, error) {
	if m.versioned == nil {
		if err := m.storeDelete(ctx, key); err != nil {
			return 0, fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
		m.event(ctx, EventDestroyed)
		return 1, nil
	}
	n, wasMarker := 0, false
	for attempt := 1; attempt <= maxCASAttempts; attempt++ {
		if version != 0 {
			_, err := m.storeSetVersion(ctx, key, nil, time.Time{}, version)
			if err == nil {
				if !wasMarker {
					n++
					m.event(ctx, EventDestroyed)
				}
				return n, nil
			}
			if !errors.Is(err, ErrConflict) {
				return n, fmt.Errorf("%w: delete: %w", ErrStore, err)
			}
			m.event(ctx, EventConflict)
			if err := backoff(ctx, attempt); err != nil {
				return n, fmt.Errorf("%w: delete: %w", ErrStore, err)
			}
		}
		rec, err := m.get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			return n, nil
		case errors.Is(err, ErrCorrupt):
			// Destroy wins over unreadable data too.
		case err != nil:
			return n, err
		case rec.MovedTo != "" && !wasMarker:
			if depth >= maxMoves {
				return n, fmt.Errorf("%w: delete: more than %d moves in a row", ErrStore, maxMoves)
			}
			d, err := m.destroy(ctx, rec.MovedTo, 0, depth+1)
			n += d
			if err != nil {
				return n, err
			}
			wasMarker = true
		}
		version = rec.version
		if version == 0 {
			return n, nil // undecodable and unversioned: nothing more to do
		}
	}
	return n, fmt.Errorf("%w: delete: %w after %d attempts", ErrStore, ErrConflict, maxCASAttempts)
}

// SessionInfo describes one of a user's sessions, as Manager.Sessions
// lists them.
type SessionInfo struct {
	// Handle identifies the session for Revoke and for comparing with
	// Session.Handle. It is derived from the store key by a one-way hash,
	// so it can be shown to the user and is never usable as a cookie.
	Handle    string
	Created   time.Time // when the session began
	LastSeen  time.Time // when it was last written
	UserAgent string    // of the client that logged in
	ClientIP  string    // of the client that logged in
}

// handleOf returns the handle of the session under key.
func handleOf(key string) string {
	sum := sha256.Sum256(append([]byte("sessionkit.handle.v1\x00"), key...))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Sessions lists the live sessions of owner (see Session.SetOwner), oldest
// first. It costs one read of the owner's index and one read per indexed
// session, whatever the size of the store; keys that no longer hold a live
// session of owner are pruned from the index. It needs a store that
// implements OwnerIndex and returns an error wrapping errors.ErrUnsupported
// otherwise.
func (m *Manager) Sessions(ctx context.Context, owner string) ([]SessionInfo, error) {
	var out []SessionInfo
	err := m.owned(ctx, owner, false, func(key string, rec *stored) error {
		out = append(out, SessionInfo{Handle: handleOf(key), Created: rec.Created, LastSeen: rec.Accessed,
			UserAgent: rec.UserAgent, ClientIP: rec.ClientIP})
		return nil
	})
	slices.SortFunc(out, func(a, b SessionInfo) int { return a.Created.Compare(b.Created) })
	return out, err
}

// Revoke destroys the session of owner whose handle is handle, as
// Session.Destroy would, and reports whether there was one: a handle of
// another owner's session, or of one that ended, finds nothing.
func (m *Manager) Revoke(ctx context.Context, owner, handle string) (bool, error) {
	found := false
	err := m.owned(ctx, owner, false, func(key string, rec *stored) error {
		if found || handleOf(key) != handle {
			return nil
		}
		found = true
		_, err := m.destroy(ctx, key, rec.version, 0)
		return err
	})
	return found, err
}

// RevokeAll destroys every session of owner ("log out everywhere") and
// returns how many it destroyed. A session regenerated or rotated during
// the call is destroyed under its new ID too; a nil error means every
// session of owner that existed when the call began is gone.
func (m *Manager) RevokeAll(ctx context.Context, owner string) (int, error) {
	n := 0
	err := m.owned(ctx, owner, true, func(key string, rec *stored) error {
		version := rec.version
		if rec.MovedTo != "" {
			version = 0 // re-read, so destroy follows the move
		}
		d, err := m.destroy(ctx, key, version, 0)
		n += d
		return err
	})
	return n, err
}

// owned calls fn with every live session of owner in the owner index and,
// if moves is set, every move marker there (the session may have moved to
// a key indexed after the index was read), and prunes the keys that hold
// neither. fn's error stops it.
func (m *Manager) owned(ctx context.Context, owner string, moves bool, fn func(key string, rec *stored) error) error {
	idx, ok := m.store.(OwnerIndex)
	if !ok {
		return fmt.Errorf("session: the store does not index sessions by owner: %w", errors.ErrUnsupported)
	}
	if owner == "" {
		return nil
	}
	octx, done := m.call(ctx, "owned")
	keys, err := idx.Owned(octx, owner)
	done(err)
	if err != nil {
		return fmt.Errorf("%w: owner index: %w", ErrStore, err)
	}
	now := m.now()
	var stale []string
	for _, key := range keys {
		rec, err := m.get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrCorrupt):
			stale = append(stale, key)
			continue
		case err != nil:
			return err
		}
		if rec.MovedTo != "" {
			if moves {
				if err := fn(key, &rec); err != nil {
					return err
				}
			}
			if !rec.GraceUntil.After(now) {
				stale = append(stale, key)
			}
			continue
		}
		if rec.Owner != owner || !now.Before(m.deadline(rec.Created, rec.Accessed)) {
			stale = append(stale, key)
			continue
		}
		if err := fn(key, &rec); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		rctx, done := m.call(ctx, "remove_owner")
		err := idx.RemoveOwner(rctx, owner, stale...)
		done(err)
		if err != nil {
			return fmt.Errorf("%w: owner index: %w", ErrStore, err)
		}
	}
	return nil
}
