package session_test

import (
	"fmt"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// The main flow as an adapter drives it: begin a request, let the handler
// use the session, commit before the headers go out. Real applications use
// an adapter (httpsession, ginsession, echosession, fibersession) and never
// call Begin or Commit themselves.
func Example() {
	m, err := session.NewManager() // a MemoryStore, secure cookie defaults
	if err != nil {
		panic(err)
	}
	defer m.Close()

	// First request: no cookie. The handler logs the user in.
	x := &sessiontest.Exchange{IP: "192.0.2.1", Headers: map[string]string{"User-Agent": "example"}}
	h := begin(m, x)
	s, err := h.Session()
	if err != nil {
		panic(err) // an adapter sends this down the framework's error path
	}
	s.Regenerate() // privilege change: never keep a pre-login ID
	s.Set("user", "ann")
	if err := h.Commit(); err != nil {
		panic(err)
	}
	c := x.LastCookie()
	fmt.Println("cookie:", c.Name, "HttpOnly:", c.HttpOnly, "Secure:", c.Secure, "SameSite=Lax:", c.SameSite == 2)

	// Second request from the same client carries the cookie back.
	x2 := &sessiontest.Exchange{IP: "192.0.2.1", Headers: x.Headers,
		CookieMap: map[string][]string{c.Name: {c.Value}}}
	h2 := begin(m, x2)
	s2, _ := h2.Session()
	user, _ := session.GetAs[string](s2, "user")
	fmt.Println("user:", user, "new:", s2.IsNew())
	_ = h2.Commit()
	fmt.Println("cookie re-sent:", x2.LastCookie() != nil)

	// The same cookie from another client finds nothing.
	x3 := &sessiontest.Exchange{IP: "203.0.113.9", Headers: x.Headers,
		CookieMap: map[string][]string{c.Name: {c.Value}}}
	s3, _ := begin(m, x3).Session()
	fmt.Println("stolen cookie new:", s3.IsNew())
	// Output:
	// cookie: sid HttpOnly: true Secure: true SameSite=Lax: true
	// user: ann new: false
	// cookie re-sent: false
	// stolen cookie new: true
}
