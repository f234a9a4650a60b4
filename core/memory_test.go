package session_test

import (
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func TestMemoryStoreConformance(t *testing.T) {
	sessiontest.TestStore(t, func(t *testing.T) session.Store {
		s := session.NewMemoryStore(session.MemoryOptions{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}
