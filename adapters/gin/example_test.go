package ginsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
)

func Example() {
	// Secure cookies are the default; this example talks plain HTTP.
	m, err := session.NewManager(session.WithCookieSecure(false))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.SetTrustedProxies(nil) // the client IP is part of the session fingerprint
	r.Use(ginsession.Middleware(m))
	r.GET("/visit", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return // Get answered 500
		}
		n, _ := session.GetAs[int](sess, "visits")
		sess.Set("visits", n+1)
		c.String(http.StatusOK, "visit %d", n+1)
	})
	srv := httptest.NewServer(r)
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
