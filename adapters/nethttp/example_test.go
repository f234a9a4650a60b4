package httpsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"time"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
)

func Example() {
	// Secure cookies are the default; this example talks plain HTTP.
	m, err := session.NewManager(session.WithCookieSecure(false))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		n := sess.Incr("visits", 1) // concurrent requests all count
		fmt.Fprintf(w, "visit %d", n)
	})
	srv := httptest.NewServer(httpsession.Middleware(m)(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for range 3 {
		resp, err := client.Get(srv.URL + "/visit")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Two sessions on one route: the login session and a long-lived
// preferences session, each with its own cookie name, lifetime and store.
func ExampleGetFor() {
	login, err := session.NewManager(session.WithCookieSecure(false))
	if err != nil {
		panic(err)
	}
	defer login.Close()
	prefs, err := session.NewManager(session.WithCookieSecure(false), session.WithCookieName("prefs"),
		session.WithPersistentCookie(true), session.WithLifetime(365*24*time.Hour))
	if err != nil {
		panic(err)
	}
	defer prefs.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.GetFor(r, login)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		sess.Destroy() // the preferences stay
	})
	mux.HandleFunc("PUT /theme/{theme}", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.GetFor(r, prefs)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		sess.Set("theme", r.PathValue("theme"))
	})
	mux.HandleFunc("GET /theme", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.GetFor(r, prefs)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		fmt.Fprint(w, sess.Get("theme"))
	})
	srv := httptest.NewServer(httpsession.Middleware(login)(httpsession.Middleware(prefs)(mux)))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for _, req := range []struct{ method, path string }{{"PUT", "/theme/dark"}, {"POST", "/logout"}, {"GET", "/theme"}} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		resp, err := client.Do(r)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s: %d %s", req.method, req.path, resp.StatusCode, body)))
	}
	// Output:
	// PUT /theme/dark: 200
	// POST /logout: 200
	// GET /theme: 200 dark
}
