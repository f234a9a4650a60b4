package fiberv3session

import (
	"testing"
	"time"
)

// SetStoreTimeout replaces DefaultStoreTimeout's bound with d until the
// test ends, so that a test of a stalled store does not wait 5 s. Call it
// before starting the app; the test must not run in parallel.
func SetStoreTimeout(t testing.TB, d time.Duration) {
	old := storeTimeout
	storeTimeout = d
	t.Cleanup(func() { storeTimeout = old })
}
