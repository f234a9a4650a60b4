package main

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

// TestDemo runs the shared behaviour test against this demo, started
// in-process on a loopback listener, with the memory store, Redis and
// PostgreSQL, and checks the store-failure path.
func TestDemo(t *testing.T) { demotest.TestDemo(t, "fiberv3", newServer) }
