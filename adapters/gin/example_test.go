package ginsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"

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
		c.String(http.StatusOK, "visit %d", sess.Incr("visits", 1))
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

// Log in, show a flash message once, log out: the usual flows of a gin
// application.
func Example_loginLogout() {
	m, err := session.NewManager(session.WithCookieSecure(false)) // plain HTTP in this example
	if err != nil {
		panic(err)
	}
	defer m.Close()

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.SetTrustedProxies(nil)
	r.Use(ginsession.Middleware(m))
	r.POST("/login", func(c *gin.Context) {
		s, err := ginsession.Get(c)
		if err != nil {
			return
		}
		user := c.PostForm("user")
		s.Regenerate() // a privilege change: the pre-login ID dies
		s.Set("user", user)
		s.SetOwner(user) // lets m.RevokeAll(ctx, user) log the user out everywhere
		s.AddFlash("Welcome, " + user + ".")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		s, err := ginsession.Get(c)
		if err != nil {
			return
		}
		for _, f := range s.Flashes() { // shown once
			c.Writer.WriteString(fmt.Sprintln(f))
		}
		user, _ := session.GetAs[string](s, "user")
		c.String(http.StatusOK, "user=%q", user)
	})
	r.POST("/logout", func(c *gin.Context) {
		s, err := ginsession.Get(c)
		if err != nil {
			return
		}
		s.Destroy()
		s.AddFlash("Signed out.")
		c.Redirect(http.StatusSeeOther, "/")
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar} // follows the 303s, as a browser does
	show := func(resp *http.Response, err error) {
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	show(client.PostForm(srv.URL+"/login", url.Values{"user": {"ann"}}))
	show(client.Get(srv.URL + "/"))
	show(client.PostForm(srv.URL+"/logout", nil))
	// Output:
	// Welcome, ann.
	// user="ann"
	// user="ann"
	// Signed out.
	// user=""
}
