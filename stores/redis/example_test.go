package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/redis/go-redis/v9"
	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
)

// Keep sessions in Redis: one request logs a user in, the next one sees
// it, through any adapter (net/http here).
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.WithPrefix("sessionkit-example:"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Clear(context.Background())

	m, err := session.NewManager(session.WithStore(store), session.WithCookieSecure(false)) // plain-HTTP test server
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		s.Regenerate()
		s.Set("user", "ann") // one command at the commit: EVALSHA
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r) // one command: GET
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, s.Get("user"))
	})
	srv := httptest.NewServer(httpsession.Middleware(m)(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	if _, err := client.Post(srv.URL+"/login", "", nil); err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(srv.URL + "/me")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	n, _ := store.Len(context.Background())
	fmt.Printf("user: %s", body)
	fmt.Println("sessions in Redis:", n)
	// Output:
	// user: ann
	// sessions in Redis: 1
}

// NewFromURL makes (and Close closes) its own client.
func ExampleNewFromURL() {
	store, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.WithPrefix("sessionkit-example-url:"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	_, err = store.Get(context.Background(), "no-such-session")
	fmt.Println(err)
	// Output:
	// session: not found
}
