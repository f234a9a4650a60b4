package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlitestore-example-") // usually a path such as /var/lib/app/sessions.db
	defer os.RemoveAll(dir)

	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "sessions.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

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
