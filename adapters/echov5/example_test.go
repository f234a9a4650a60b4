package echov5session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/labstack/echo/v5"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	session "github.com/sessionkit/sessionkit/core"
)

// A visit counter kept in the session.
func Example() {
	// Secure cookies are the default; this example talks plain HTTP.
	m, err := session.NewManager(session.WithCookieSecure(false))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echov5session.Middleware(m))
	e.GET("/visit", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		n, _ := session.GetAs[int](sess, "visits")
		sess.Set("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
	})
	srv := httptest.NewServer(e)
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
