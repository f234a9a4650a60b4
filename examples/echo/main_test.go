package main

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

func TestBehaviourMemory(t *testing.T) {
	d := demotest.Start(t, "echo", newServer)
	demotest.NoIDsLogged(t, d, demotest.Behaviour(t, d.URL))
}
