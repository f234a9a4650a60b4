package session_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

// recorder is an Observer that records what it is told.
type recorder struct {
	mu     sync.Mutex
	calls  []string
	events []session.Event
}

func (r *recorder) StoreCall(ctx context.Context, op string) (context.Context, func(error)) {
	return ctx, func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil && !errorsIsAnswer(err) {
			op += "!"
		}
		r.calls = append(r.calls, op)
	}
}

func errorsIsAnswer(err error) bool {
	return err == session.ErrNotFound || err == session.ErrConflict
}

func (r *recorder) Event(_ context.Context, e session.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() ([]string, []session.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, e := r.calls, r.events
	r.calls, r.events = nil, nil
	return c, e
}

func TestObserverSeesStoreCallsAndEvents(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, session.WithObserver(rec))
	c := newClient()
	e.request(c, func(s *session.Session) { require.NoError(t, s.Set("a", 1)) })
	calls, events := rec.take()
	assert.Equal(t, []string{"set_version"}, calls)
	assert.Equal(t, []session.Event{session.EventLoadedNew, session.EventCreated, session.EventCommitted}, events)

	// A conflict: another request writes between this one's load and commit.
	h := begin(e.m, c.exchange())
	s, err := h.Session()
	require.NoError(t, err)
	e.request(c, func(s *session.Session) { s.Incr("b", 1) })
	rec.take()
	s.Incr("a", 1)
	require.NoError(t, h.Commit())
	calls, events = rec.take()
	assert.Equal(t, []string{"set_version", "get", "set_version"}, calls)
	assert.Equal(t, []session.Event{session.EventConflict, session.EventCommitted}, events)

	e.request(c, func(s *session.Session) { s.Destroy() })
	calls, events = rec.take()
	assert.Equal(t, []string{"get", "set_version"}, calls)
	assert.Equal(t, []session.Event{session.EventLoaded, session.EventDestroyed}, events)

	e.fail.SetDown(true)
	_, err = begin(e.m, c.exchange()).Session()
	require.NoError(t, err, "no cookie any more: nothing to load")
	c.cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	_, err = begin(e.m, c.exchange()).Session()
	require.Error(t, err)
	calls, events = rec.take()
	assert.Equal(t, []string{"get!"}, calls)
	assert.Equal(t, []session.Event{session.EventLoadedNew, session.EventLoadFailed}, events)
	assert.Equal(t, "load_failed", session.EventLoadFailed.String())
}
