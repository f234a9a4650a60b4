package demo_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// A demo in miniature: the runner parses the flags, opens the store,
// builds the Manager and serves the router that the build function
// returns, until its context is cancelled.
func Example() {
	build := func(app *demo.App) (demo.Server, error) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /api/session", func(w http.ResponseWriter, r *http.Request) {
			s, err := httpsession.Get(r)
			if err != nil {
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
				return
			}
			s.Incr(demo.KeyViews, 1)
			w.Header().Set("Content-Type", demo.ContentTypeJSON)
			w.Write(demo.JSON(demo.Peek(s)))
		})
		return app.HTTPServer(httpsession.Middleware(app.Manager)(mux)), nil
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- demo.Run(ctx, demo.Options{
			Framework: "example",
			Args:      []string{"-store", "memory"},
			Build:     build,
			Listener:  ln,
			Log:       io.Discard,
		})
	}()

	resp, err := http.Get("http://" + ln.Addr().String() + "/api/session")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	fmt.Println("cookie set:", len(resp.Cookies()) == 1)

	stop() // as SIGTERM does in demo.Main
	fmt.Println("shutdown:", <-done)
	// Output:
	// {"views":1,"user":""}
	// cookie set: true
	// shutdown: <nil>
}

func ExampleValidateKey() {
	for _, k := range []string{"color", "a-b_c", "bad.key", ""} {
		fmt.Printf("%q: %v\n", k, demo.ValidateKey(k))
	}
	// Output:
	// "color": <nil>
	// "a-b_c": <nil>
	// "bad.key": key may contain only A-Z, a-z, 0-9, '_' and '-'
	// "": key must be 1 to 64 characters
}

func ExampleStoreName() {
	fmt.Println(demo.StoreName("memory"))
	fmt.Println(demo.StoreName("sqlite:/var/lib/app/sessions.db"))
	fmt.Println(demo.StoreName("redis://:secret@127.0.0.1:6379/11"))
	fmt.Println(demo.StoreName("postgres://app:pw@db:5432/app?sslmode=disable&password=pw"))
	// Output:
	// memory
	// sqlite:/var/lib/app/sessions.db
	// redis://127.0.0.1:6379/11
	// postgres://db:5432/app
}
