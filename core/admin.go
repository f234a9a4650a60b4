package session

import (
	"context"
	"errors"
	"fmt"
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
	err := l.Range(ctx, func(key string, data []byte, version uint64) error {
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
	ver, target := rec.version, &rec.Record
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
	return m.destroy(ctx, key, ver, 0)
}

// destroy deletes the session under key, whose version the caller saw
// (0 if unknown), and returns how many sessions it deleted (0 or 1). A
// concurrent write does not save the record: destroy deletes it at the
// newer version. A marker left by Regenerate is followed, so the session
// dies under its new ID too, before the marker goes. Its errors wrap
// ErrStore.
func (m *Manager) destroy(ctx context.Context, key string, version uint64, depth int) (int, error) {
	if m.versioned == nil {
		if err := m.store.Delete(ctx, key); err != nil {
			return 0, fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
		return 1, nil
	}
	n, wasMarker := 0, false
	for attempt := 1; attempt <= maxCASAttempts; attempt++ {
		if version != 0 {
			_, err := m.versioned.SetVersion(ctx, key, nil, time.Time{}, version)
			if err == nil {
				if !wasMarker {
					n++
				}
				return n, nil
			}
			if !errors.Is(err, ErrConflict) {
				return n, fmt.Errorf("%w: delete: %w", ErrStore, err)
			}
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
