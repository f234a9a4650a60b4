package sessiontest_test

import (
	"context"
	"fmt"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// A store module proves its store keeps the contract, against its real
// server, with one test function. TestStore also races requests through a
// real Manager on the store: concurrent writers, Regenerate against a
// logout, revocation, flashes shown once, the owner index.
func ExampleTestStore() {
	// In the store module's store_test.go:
	_ = func(t *testing.T) {
		sessiontest.TestStore(t, func(t *testing.T) session.Store {
			s, err := session.NewMemoryStore() // your store, on a fresh key space
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	}
}

// An adapter describes each request to the core with a session.Exchange;
// sessiontest.Exchange is one without a framework, for driving a Manager
// directly: an adapter under construction, or a test of code that takes a
// *session.Session.
func ExampleExchange() {
	m, err := session.NewManager()
	if err != nil {
		panic(err)
	}
	defer m.Close()

	x := &sessiontest.Exchange{IP: "192.0.2.1", Headers: map[string]string{"User-Agent": "example"}}
	var h session.Handle
	h.Init(m, x)
	s, err := h.Session()
	if err != nil {
		panic(err)
	}
	if err := s.Set("user", "ann"); err != nil {
		panic(err)
	}
	if err := h.Commit(); err != nil { // as an adapter does before the headers go out
		panic(err)
	}
	c := x.LastCookie()
	fmt.Println(c.Name, session.ValidID(c.Value), c.HttpOnly, c.Secure)

	// The next request carries the cookie back.
	next := &sessiontest.Exchange{IP: "192.0.2.1", Headers: x.Headers, Ctx: context.Background(),
		CookieMap: map[string][]string{c.Name: {c.Value}}}
	var h2 session.Handle
	h2.Init(m, next)
	s2, _ := h2.Session()
	fmt.Println(s2.Get("user"))
	// Output:
	// sid true true true
	// ann
}
