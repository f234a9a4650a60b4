package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
)

// request is the little a Manager needs to know about an HTTP request; an
// adapter (net/http, gin, echo, fiber) provides it in a real program.
type request struct {
	cookie string
	set    *http.Cookie
}

func (r *request) Context() context.Context { return context.Background() }
func (r *request) Cookies(string) []string {
	if r.cookie == "" {
		return nil
	}
	return []string{r.cookie}
}
func (r *request) Header(string) string     { return "example-agent" }
func (r *request) ClientIP() string         { return "192.0.2.1" }
func (r *request) SetCookie(c *http.Cookie) { r.set = c }
func (r *request) SetHeader(string, string) {}

// Keep sessions in Redis: one request logs a user in, the next one sees it.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.WithPrefix("sessionkit-example:"))
	defer store.Clear(context.Background())

	m, err := session.NewManager(session.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}

	first := &request{}
	h := testenv.Begin(m, first)
	sess, err := h.Session()
	if err != nil {
		log.Fatal(err)
	}
	sess.Set("user", "ann")
	if err := h.Commit(); err != nil { // one command: EVALSHA
		log.Fatal(err)
	}

	second := &request{cookie: first.set.Value}
	h = testenv.Begin(m, second)
	sess, err = h.Session() // one command: GET
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user:", sess.Get("user"))
	n, _ := store.Len(context.Background())
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

	ctx := context.Background()
	if err := store.Client().Ping(ctx).Err(); err != nil { // connect first
		log.Fatal(err)
	}
	var counter redisstore.CommandCounter
	store.Client().AddHook(&counter)
	_, err = store.Get(ctx, "no-such-session")
	fmt.Println(err, "- commands:", counter.Commands())
	// Output:
	// session: not found - commands: 1
}
