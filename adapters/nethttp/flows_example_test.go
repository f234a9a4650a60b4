package httpsession_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
)

// app is a small application with the usual session flows: log in, show
// who is logged in with a flash message, count, log out, list and revoke
// the user's devices.
func app(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		user := r.FormValue("user")
		s.Regenerate()      // a privilege change: the pre-login ID dies
		s.Set("user", user) // what the handlers read later
		s.SetOwner(user)    // lets Manager.Sessions and RevokeAll find it
		s.AddFlash("Welcome, " + user + ".")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		for _, f := range s.Flashes() { // each message is shown once
			fmt.Fprintln(w, f)
		}
		user, _ := session.GetAs[string](s, "user")
		fmt.Fprintf(w, "user=%q\n", user)
	})
	mux.HandleFunc("POST /count", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		fmt.Fprintln(w, s.Incr("count", 1))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		s.Destroy()               // the record is deleted, the cookie expired
		s.AddFlash("Signed out.") // kept in a fresh session
	})
	return httpsession.Middleware(m)(mux)
}

// browser is an HTTP client with its own cookies, as one browser has.
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(base, agent string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base, &http.Client{Jar: jar, Transport: agentTransport(agent)}}
}

func (b *browser) do(method, path, form string) string {
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body))
}

// agentTransport sets the User-Agent: the default fingerprint binds a
// session to it.
type agentTransport string

func (a agentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("User-Agent", string(a))
	return http.DefaultTransport.RoundTrip(r)
}

func newManager() *session.Manager {
	m, err := session.NewManager(session.WithCookieSecure(false)) // these examples talk plain HTTP
	if err != nil {
		panic(err)
	}
	return m
}

// Log in, see the welcome flash once, log out.
func Example_loginLogout() {
	m := newManager()
	defer m.Close()
	srv := httptest.NewServer(app(m))
	defer srv.Close()

	b := newBrowser(srv.URL, "laptop")
	b.do("POST", "/login", "user=ann")
	fmt.Println(b.do("GET", "/", ""))
	fmt.Println(b.do("GET", "/", ""))
	b.do("POST", "/logout", "")
	fmt.Println(b.do("GET", "/", ""))
	// Output:
	// Welcome, ann.
	// user="ann"
	// user="ann"
	// Signed out.
	// user=""
}

// Concurrent requests on one session all count: Incr merges.
func Example_counter() {
	m := newManager()
	defer m.Close()
	srv := httptest.NewServer(app(m))
	defer srv.Close()

	b := newBrowser(srv.URL, "laptop")
	b.do("POST", "/login", "user=ann")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { b.do("POST", "/count", "") })
	}
	wg.Wait()
	fmt.Println(b.do("POST", "/count", ""))
	// Output:
	// 21
}

// List a user's devices, revoke one, then log the user out everywhere.
func Example_revoke() {
	m := newManager()
	defer m.Close()
	srv := httptest.NewServer(app(m))
	defer srv.Close()

	laptop, phone := newBrowser(srv.URL, "laptop"), newBrowser(srv.URL, "phone")
	laptop.do("POST", "/login", "user=ann")
	phone.do("POST", "/login", "user=ann")

	ctx := context.Background()
	devices, _ := m.Sessions(ctx, "ann")
	for _, d := range devices {
		if d.UserAgent == "phone" {
			ok, _ := m.Revoke(ctx, "ann", d.Handle) // a "sign out this device" button
			fmt.Println("revoked the phone:", ok)
		}
	}
	fmt.Println("phone:", phone.do("GET", "/", ""))
	n, _ := m.RevokeAll(ctx, "ann") // "sign out everywhere"
	fmt.Println("revoked:", n)
	fmt.Println("laptop:", laptop.do("GET", "/", ""))
	// Output:
	// revoked the phone: true
	// phone: user=""
	// revoked: 1
	// laptop: user=""
}
