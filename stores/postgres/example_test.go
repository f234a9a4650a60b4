package pgstore_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
)

// Keep sessions in PostgreSQL: one request logs a user in, the next one
// sees it, through any adapter (net/http here).
func Example() {
	ctx := context.Background()
	url := cmp.Or(os.Getenv("PG_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	store, err := pgstore.Open(ctx, url,
		pgstore.WithTable(exampleTable()), // usually left out: "sessionkit_sessions"
		pgstore.WithCreateTable())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	defer dropTables(store) // keeps the shared test database clean

	m, err := session.NewManager(session.WithStore(store), session.WithCookieSecure(false)) // plain-HTTP test server
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		s.Regenerate()
		s.Set("user", "ann") // one INSERT at the commit
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r) // one SELECT
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
		fmt.Println(err)
		return
	}
	resp, err := client.Get(srv.URL + "/me")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	n, err := store.Len(ctx)
	fmt.Printf("user: %s", body)
	fmt.Println("sessions stored:", n, err)
	// Output:
	// user: ann
	// sessions stored: 1 <nil>
}

// exampleTable returns a table name of the example's own, so that runs
// sharing a database never collide.
func exampleTable() string { return "pgstore_example_" + strings.ToLower(rand.Text()) }

func dropTables(s *pgstore.Store) {
	s.Pool().Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{s.Table()}.Sanitize()+", "+
		pgx.Identifier{s.Table() + "_owners"}.Sanitize())
}
