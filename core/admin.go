package session

import (
	"context"
	"errors"
	"fmt"
)

// DestroyMatching deletes every live session whose record match accepts
// and returns how many it deleted: the way to log one user out everywhere,
// for instance
//
//	n, err := m.DestroyMatching(ctx, func(r session.Record) bool { return r.Values["user"] == "ann" })
//
// It lists the whole store, so it belongs in an admin action or a job, not
// on a request path. It needs a store that implements Lister (MemoryStore,
// redisstore and pgstore do) and returns an error wrapping
// errors.ErrUnsupported otherwise. Records the codec cannot decode are
// skipped.
func (m *Manager) DestroyMatching(ctx context.Context, match func(Record) bool) (int, error) {
	l, ok := m.store.(Lister)
	if !ok {
		return 0, fmt.Errorf("session: DestroyMatching: the store cannot list sessions: %w", errors.ErrUnsupported)
	}
	all, err := l.All(ctx)
	if err != nil {
		return 0, fmt.Errorf("%w: list: %w", ErrStore, err)
	}
	n := 0
	for key, data := range all {
		var rec Record
		if m.codec.Decode(data, &rec) != nil || !match(rec) {
			continue
		}
		if err := m.store.Delete(ctx, key); err != nil {
			return n, fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
		n++
	}
	return n, nil
}
