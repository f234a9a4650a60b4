package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

func TestDestroyMatchingLogsOneUserOutEverywhere(t *testing.T) {
	e := newEnv(t)
	ann1, ann2, bob := newClient(), &client{ip: "198.51.100.1", ua: "phone"}, newClient()
	e.request(ann1, func(s *session.Session) { s.Set("user", "ann") })
	e.request(ann2, func(s *session.Session) { s.Set("user", "ann") })
	e.request(bob, func(s *session.Session) { s.Set("user", "bob") })
	// Something undecodable in the store is skipped, not fatal.
	require.NoError(t, e.mem.Set(context.Background(), "junk", []byte("junk"), e.clock.Now().Add(3600e9)))

	n, err := e.m.DestroyMatching(context.Background(), func(r session.Record) bool { return r.Values["user"] == "ann" })
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	e.request(ann1, func(s *session.Session) { assert.True(t, s.IsNew()) })
	e.request(ann2, func(s *session.Session) { assert.True(t, s.IsNew()) })
	e.request(bob, func(s *session.Session) { assert.Equal(t, "bob", s.Get("user")) })

	e.fail.SetDown(true)
	_, err = e.m.DestroyMatching(context.Background(), func(session.Record) bool { return true })
	assert.ErrorIs(t, err, session.ErrStore)

	m, err := session.NewManager(session.WithStore(testenv.NewPlainStore(e.mem)))
	require.NoError(t, err)
	_, err = m.DestroyMatching(context.Background(), func(session.Record) bool { return true })
	assert.True(t, errors.Is(err, errors.ErrUnsupported))
}
