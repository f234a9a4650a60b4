package sessiontest_test

import (
	"errors"
	"fmt"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// Counting store calls and failing a store on demand, as the kit's own
// tests do: a session is saved, the store goes down, and the next load
// fails with an error wrapping session.ErrStore.
func Example() {
	mem := session.NewMemoryStore(session.MemoryOptions{})
	defer mem.Close()
	fail := sessiontest.NewFailingStore(mem)
	count := sessiontest.NewCountingStore(fail)
	m, _ := session.NewManager(session.WithStore(count))

	x := &sessiontest.Exchange{IP: "192.0.2.1"}
	h := m.Begin(x)
	s, _ := h.Session()
	s.Set("user", "ann")
	_ = h.Commit()
	gets, sets, _ := count.Calls()
	fmt.Println("gets:", gets, "sets:", sets, "cookie set:", x.LastCookie() != nil)

	fail.SetDown(true)
	again := &sessiontest.Exchange{IP: "192.0.2.1",
		CookieMap: map[string][]string{x.LastCookie().Name: {x.LastCookie().Value}}}
	_, err := m.Begin(again).Session()
	fmt.Println("store error:", errors.Is(err, session.ErrStore))
	// Output:
	// gets: 0 sets: 1 cookie set: true
	// store error: true
}
