package pgstore_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
)

func Example() {
	ctx := context.Background()
	url := cmp.Or(os.Getenv("PG_URL"), "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	store, err := pgstore.Open(ctx, url, pgstore.Options{
		Table:       exampleTable(), // usually left empty: "sessionkit_sessions"
		CreateTable: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	defer dropTable(store) // keeps the shared test database clean

	m, err := session.NewManager(session.WithStore(store))
	if err != nil {
		fmt.Println(err)
		return
	}

	// An adapter does this for every request; a sessiontest.Exchange
	// stands in for the HTTP request here.
	login := &sessiontest.Exchange{IP: "203.0.113.5", Headers: map[string]string{"User-Agent": "example"}}
	h := testenv.Begin(m, login)
	sess, err := h.Session()
	if err != nil {
		fmt.Println(err)
		return
	}
	sess.Set("user", "ann")
	if err := h.Commit(); err != nil { // one INSERT
		fmt.Println(err)
		return
	}
	cookie := login.LastCookie()

	// The next request from the same client brings the cookie back.
	next := &sessiontest.Exchange{IP: login.IP, Headers: login.Headers,
		CookieMap: map[string][]string{cookie.Name: {cookie.Value}}}
	sess, err = testenv.Begin(m, next).Session() // one SELECT
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user:", sess.Get("user"))

	n, err := store.Len(ctx)
	fmt.Println("sessions stored:", n, err)
	// Output:
	// user: ann
	// sessions stored: 1 <nil>
}

// exampleTable returns a table name of the example's own, so that runs
// sharing a database never collide.
func exampleTable() string { return "pgstore_example_" + strings.ToLower(rand.Text()) }

func dropTable(s *pgstore.Store) {
	s.Pool().Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{s.Table()}.Sanitize())
}
